-- 1v1 effective communication rate per day x staff member (docs/kpi-book.md "1v1 effective
-- communication rate"). Day = business day of the outreach start. Rate = effective matured
-- outreaches / matured outreaches (started_at + 48h <= end), NULL when none matured.
-- Rows only for days and staff with at least one outreach.
with outreaches as (
    select * from {{ ref('fct_outreaches') }}
)

select
    started_date as {{ adapter.quote('date') }},
    staff_id,
    department,
    count(*) as outreaches,
    count(*) filter (where is_matured_48h) as matured_outreaches,
    count(*) filter (where is_matured_48h and is_effective) as effective_outreaches,
    {{ conversations_rate('count(*) filter (where is_matured_48h and is_effective)',
                          'count(*) filter (where is_matured_48h)') }} as effective_rate_48h
from outreaches
group by started_date, staff_id, department
