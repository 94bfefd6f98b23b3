-- Sales staff ranked by the net revenue of the last 30 days of the users they own, with
-- their purchases and AOV, the 30-day conversion of their leads of the last 90 days
-- (rpt_leads_90d) and the 90-day repurchase rate of their latest cohort month fully matured
-- by the end of the report day. One row per staff member of the department (current version
-- of marts.dim_staff, name already masked).
with staff as (
    select
        staff_id,
        name_masked as staff_name,
        department
    from {{ bi_ref('dim_staff') }}
),

conversion as (
    select
        report_date,
        owner_staff_id as staff_id,
        count(*) filter (where matured) as matured_leads,
        count(*) filter (where matured and converted) as converted_30d
    from {{ ref('rpt_leads_90d') }}
    group by 1, 2
),

revenue as (
    select
        d.report_date,
        u.owner_staff_id as staff_id,
        sum(o.net_revenue) as net_revenue_30d,
        count(*) filter (where o.is_qualifying) as purchases_30d
    from {{ ref('rpt_report_days') }} as d
    inner join {{ bi_ref('fct_orders') }} as o
        on o.order_date > d.report_date - 30 and o.order_date <= d.report_date
    inner join {{ bi_ref('dim_users') }} as u on o.user_id = u.user_id
    where o.is_paid
    group by 1, 2
),

repurchase as (  -- the latest cohort month fully matured by the end of the day
    select
        d.report_date,
        r.owner_staff_id as staff_id,
        arg_max(r.repurchase_rate_90d, r.cohort_month) as repurchase_rate_90d
    from {{ ref('rpt_report_days') }} as d
    inner join {{ bi_ref('kpi_repurchase_90d_by_owner') }} as r
        on r.cohort_month + interval 1 month + interval 90 day <= cast(d.report_date + 1 as timestamp)
    group by 1, 2
),

ranked as (
    select
        d.report_date,
        s.department,
        rank() over (
            partition by d.report_date, s.department
            order by coalesce(r.net_revenue_30d, 0) desc
        ) as rank,
        s.staff_id,
        s.staff_name,
        coalesce(r.net_revenue_30d, 0) as net_revenue_30d,
        coalesce(r.purchases_30d, 0) as purchases_30d,
        cast(r.net_revenue_30d / nullif(r.purchases_30d, 0) as decimal(18, 2)) as aov_30d,
        c.matured_leads,
        c.converted_30d,
        c.converted_30d / nullif(c.matured_leads, 0) as conversion,
        p.repurchase_rate_90d
    from {{ ref('rpt_report_days') }} as d
    cross join staff as s
    left join revenue as r on r.report_date = d.report_date and r.staff_id = s.staff_id
    left join conversion as c on c.report_date = d.report_date and c.staff_id = s.staff_id
    left join repurchase as p on p.report_date = d.report_date and p.staff_id = s.staff_id
)

select
    *,
    row_number() over (partition by report_date, department order by rank, staff_id) as sort_key
from ranked
