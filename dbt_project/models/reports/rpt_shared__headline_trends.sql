-- The source material's anchor KPIs, company-wide in every extract, over the 30 days up to
-- each report day: the 48-hour response rate and the 90-day repurchase rate (department
-- `all` of kpi_department_daily) and buyer LTV, the net revenue of paid orders up to the day
-- over the buyers whose first purchase was up to the day.
with trend_days as (
    select
        r.report_date,
        d.date_day as date
    from {{ ref('rpt_report_days') }} as r
    inner join {{ bi_ref('dim_dates') }} as d
        on d.date_day > r.report_date - 30 and d.date_day <= r.report_date
),

kpis as (
    select
        date,
        max(value) filter (where kpi = 'response_rate_48h') as response_rate_48h,
        max(value) filter (where kpi = 'repurchase_rate_90d') as repurchase_rate_90d
    from {{ bi_ref('kpi_department_daily') }}
    where department = 'all'
    group by date
),

revenue as (  -- net revenue of paid orders per day, summed up to each day below
    select
        order_date as date,
        sum(net_revenue) as net_revenue
    from {{ bi_ref('fct_orders') }}
    where is_paid
    group by 1
),

buyers as (
    select
        cast(first_purchase_at as date) as date,
        count(*) as buyers
    from {{ bi_ref('dim_users') }}
    where first_purchase_at is not null
    group by 1
),

calendar as (
    select distinct date from trend_days
),

cumulative_revenue as (
    select
        c.date,
        sum(r.net_revenue) as net_revenue
    from calendar as c
    inner join revenue as r on r.date <= c.date
    group by c.date
),

cumulative_buyers as (
    select
        c.date,
        sum(b.buyers) as buyers
    from calendar as c
    inner join buyers as b on b.date <= c.date
    group by c.date
)

select
    t.report_date,
    t.date,
    k.response_rate_48h,
    k.repurchase_rate_90d,
    cast(r.net_revenue / nullif(b.buyers, 0) as decimal(18, 2)) as buyer_ltv
from trend_days as t
left join kpis as k on k.date = t.date
left join cumulative_revenue as r on r.date = t.date
left join cumulative_buyers as b on b.date = t.date
