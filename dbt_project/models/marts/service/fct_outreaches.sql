-- One row per 1v1 outreach (docs/kpi-book.md "1v1 effective communication rate"): a staff run that
-- is not a response. Effective = the customer's next message in the conversation comes
-- within 48 hours (<=) of the outreach start; matured = started_at + 48h <= end of the
-- as-of day. is_effective can already be true before maturity; the rate counts only
-- matured outreaches.
with runs as (
    select * from {{ ref('int_conversations__staff_runs') }}
    where run_type = 'outreach'
),

staff as (
    select staff_id, department from {{ ref('stg_crm__staff') }}
),

identifiers as (
    select identifier_value, user_id from {{ ref('dim_user_identifiers') }}
    where identifier_type = 'external_userid'
)

select
    r.staff_run_id as outreach_id,
    ui.user_id,
    r.external_userid,
    r.staff_id,
    {{ department_of('s') }} as department,
    r.started_at,
    cast(r.started_at as date) as started_date,
    r.ended_at,
    r.staff_messages,
    r.next_customer_message_at,
    r.started_at + interval '48 hour' <= {{ as_of_end() }} as is_matured_48h,
    coalesce(r.next_customer_message_at <= r.started_at + interval '48 hour', false) as is_effective
from runs as r
left join staff as s on s.staff_id = r.staff_id
left join identifiers as ui on ui.identifier_value = r.external_userid
