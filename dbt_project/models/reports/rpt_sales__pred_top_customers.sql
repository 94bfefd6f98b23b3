-- The 50 customers with the highest expected net revenue of the next 90 days
-- (marts.pred_customer_90d, docs/kpi-book.md#predictive-kpis) per department, and company-wide
-- as department `all`. The scores exist for the build's as_of only: a report of another day
-- shows none.
with customers as (
    select
        d.report_date,
        p.department,
        p.user_id,
        u.owner_staff_id as staff_id,
        s.name_masked as staff_name,
        p.p_purchase_90d,
        p.expected_purchases_90d,
        p.expected_net_revenue_90d,
        u.ltv
    from {{ ref('rpt_report_days') }} as d
    inner join {{ bi_ref('pred_customer_90d') }} as p on p.as_of = d.report_date
    inner join {{ bi_ref('dim_users') }} as u on p.user_id = u.user_id
    left join {{ bi_ref('dim_staff') }} as s on u.owner_staff_id = s.staff_id
),

by_department as (  -- each customer in its department and in the company-wide `all`
    select
        c.report_date,
        d.department,
        c.user_id,
        c.staff_id,
        c.staff_name,
        c.p_purchase_90d,
        c.expected_purchases_90d,
        c.expected_net_revenue_90d,
        c.ltv
    from customers as c
    cross join unnest([c.department, 'all']) as d (department)
),

ranked as (
    select
        report_date,
        department,
        rank() over (
            partition by report_date, department
            order by expected_net_revenue_90d desc, user_id asc
        ) as rank,
        user_id,
        staff_id,
        staff_name,
        p_purchase_90d,
        expected_purchases_90d,
        expected_net_revenue_90d,
        ltv
    from by_department
)

select
    *,
    rank as sort_key
from ranked
where rank <= 50
