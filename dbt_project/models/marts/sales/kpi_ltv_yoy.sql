-- LTV year-on-year growth (docs/kpi-book.md "LTV"): the 365-day cohort LTV of a cohort month versus
-- the same month one year earlier, per channel (`all` = total). growth = ltv / prior - 1; NULL
-- unless both 365-day LTVs are complete (so NULL until two years of history exist).
with cohorts as (
    select cohort_month, channel, avg_ltv, is_complete, users
    from {{ ref('kpi_ltv_cohorts') }}
    where horizon_days = 365
)

select
    c.cohort_month,
    c.channel,
    c.users,
    c.avg_ltv as avg_ltv_365d,
    c.is_complete,
    cast(c.cohort_month - interval '1 year' as date) as prior_cohort_month,
    p.users as prior_users,
    p.avg_ltv as prior_avg_ltv_365d,
    c.avg_ltv / nullif(p.avg_ltv, 0) - 1 as ltv_yoy_growth
from cohorts as c
left join cohorts as p
    on p.channel = c.channel and p.cohort_month = cast(c.cohort_month - interval '1 year' as date)
