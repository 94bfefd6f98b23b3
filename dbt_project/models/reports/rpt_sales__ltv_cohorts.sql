-- Average LTV of each first-purchase cohort month (all channels) at 30, 90, 180 and 365 days
-- (kpi_ltv_cohorts), every cohort up to the report day, newest first. Shown to sales and in
-- the executive summary.
with cohorts as (
    select
        cohort_month,
        max(users) as users,
        max(avg_ltv) filter (where horizon_days = 30) as ltv_30d,
        max(avg_ltv) filter (where horizon_days = 90) as ltv_90d,
        max(avg_ltv) filter (where horizon_days = 180) as ltv_180d,
        max(avg_ltv) filter (where horizon_days = 365) as ltv_365d
    from {{ bi_ref('kpi_ltv_cohorts') }}
    where channel = 'all'
    group by cohort_month
)

select
    d.report_date,
    c.cohort_month,
    c.users,
    c.ltv_30d,
    c.ltv_90d,
    c.ltv_180d,
    c.ltv_365d,
    row_number() over (partition by d.report_date order by c.cohort_month desc) as sort_key
from {{ ref('rpt_report_days') }} as d
inner join cohorts as c on c.cohort_month <= d.report_date
