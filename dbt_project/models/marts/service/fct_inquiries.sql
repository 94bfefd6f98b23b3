{{ config(
    materialized='incremental',
    unique_key='inquiry_id',
    incremental_strategy=keyed_incremental_strategy(),
    on_schema_change='append_new_columns',
    post_hook="{{ delete_vanished_rows('inquiry_id', 'select inquiry_id from ' ~ ref('int_conversations__inquiries')) }}",
) }}
-- One row per 1v1 inquiry (docs/kpi-book.md "Response rates"), published. The day of an inquiry is
-- the business day it started; department = the current department of its staff member.
-- Maturity for X: started_at + X <= end of the as-of day. Answered within X: responded_at
-- <= started_at + X (FRT <= X), known even before the inquiry matures; the rate counts
-- only inquiries that are matured AND answered within X.
--
-- Incremental (macros/incremental.sql "Incremental facts", DECISIONLOG): a run writes the
-- inquiries the table does not hold or holds with another value (a new or changed inquiry,
-- its business-hours FRT, or a maturity flag the new as_of turned), and again every inquiry
-- of a customer whose user changed and of a staff member whose department changed; the
-- post-hook deletes the inquiries that left. The result equals a full build.
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
    select identifier_value as external_userid, user_id from {{ ref('dim_user_identifiers') }}
    where identifier_type = 'external_userid'
),

staged as (
    select
        i.inquiry_id,
        i.external_userid,
        i.staff_id,
        i.started_at,
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
),

batch as (
    {{ incremental_batch('staged', 'inquiry_id',
        ['external_userid', 'staff_id', 'started_at', 'responded_at', 'frt_seconds',
         'frt_business_seconds', 'response_msgid', 'customer_messages', 'is_matured_2h',
         'is_answered_2h', 'is_matured_48h', 'is_answered_48h'],
        lookups=[{'key': 'external_userid', 'columns': ['user_id'], 'lookup': 'identifiers'},
                 {'key': 'staff_id', 'columns': ['department'], 'lookup': 'staff',
                  'values': {'department': department_of('now')}}]) }}
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
    i.frt_business_seconds,
    i.response_msgid,
    i.customer_messages,
    i.is_matured_2h,
    i.is_answered_2h,
    i.is_matured_48h,
    i.is_answered_48h
from batch as i
left join staff as s on s.staff_id = i.staff_id
left join identifiers as ui on ui.external_userid = i.external_userid
