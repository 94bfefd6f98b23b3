-- One row per 1v1 inquiry (kpis.md "Response rates"), published. The day of an inquiry is
-- the business day it started; department = the current department of its staff member.
-- Maturity for X: started_at + X <= end of the as-of day. Answered within X: responded_at
-- <= started_at + X (FRT <= X), known even before the inquiry matures; the rate counts
-- only inquiries that are matured AND answered within X.
with inquiries as (
    select * from {{ ref('int_conversations__inquiries') }}
),

business_frt as (
    select * from {{ ref('int_conversations__inquiry_business_frt') }}
),

staff as (
    select staff_id, department from {{ ref('stg_crm__staff') }}
),

identifiers as (
    select identifier_value, user_id from {{ ref('dim_user_identifiers') }}
    where identifier_type = 'external_userid'
)

select
    i.inquiry_id,
    ui.user_id,
    i.external_userid,
    i.staff_id,
    {{ department_of('s') }} as department,
    i.started_at,
    cast(i.started_at as date) as started_date,
    i.responded_at,
    i.frt_seconds,
    b.frt_business_seconds,
    i.response_msgid,
    i.customer_messages,
    i.started_at + interval '2 hour' <= {{ as_of_end() }} as is_matured_2h,
    coalesce(i.responded_at <= i.started_at + interval '2 hour', false) as is_answered_2h,
    i.started_at + interval '48 hour' <= {{ as_of_end() }} as is_matured_48h,
    coalesce(i.responded_at <= i.started_at + interval '48 hour', false) as is_answered_48h
from inquiries as i
left join business_frt as b on b.inquiry_id = i.inquiry_id
left join staff as s on s.staff_id = i.staff_id
left join identifiers as ui on ui.identifier_value = i.external_userid
