-- Orders and revenue per business day (order day = date of paid_at) and owning department
-- of the buyer (`none` without a CRM owner; `all` = company total) (docs/kpi-book.md "Orders and
-- revenue"): net revenue of paid orders, qualifying purchases, AOV (客单价) = net revenue /
-- qualifying purchases (NULL when none), buyers and first-time buyers.
with orders as (
    select
        o.order_date,
        {{ department_or_none('u.department') }} as department,
        o.user_id,
        o.is_qualifying,
        o.net_revenue,
        cast(u.first_purchase_at as date) = o.order_date and o.paid_at = u.first_purchase_at
            as is_first_purchase
    from {{ ref('fct_orders') }} as o
    inner join {{ ref('dim_users') }} as u using (user_id)
    where o.is_paid
),

daily as (
    select
        order_date as date,
        {{ company_total_label('department') }} as department,
        count(*) as paid_orders,
        count(*) filter (where is_qualifying) as qualifying_purchases,
        cast(sum(net_revenue) as decimal(18, 2)) as net_revenue,
        count(distinct user_id) filter (where is_qualifying) as buyers,
        count(*) filter (where is_first_purchase and is_qualifying) as first_purchases
    from orders
    {{ group_with_company_total(['order_date'], 'department') }}
),

departments as (
    select distinct department from daily
)

select
    d.date_day as date,
    p.department,
    coalesce(x.paid_orders, 0) as paid_orders,
    coalesce(x.qualifying_purchases, 0) as qualifying_purchases,
    cast(coalesce(x.net_revenue, 0) as decimal(18, 2)) as net_revenue,
    {{ decimal_of_double("x.net_revenue / nullif(x.qualifying_purchases, 0)") }} as aov,
    coalesce(x.buyers, 0) as buyers,
    coalesce(x.first_purchases, 0) as first_purchases
from {{ ref('dim_dates') }} as d
cross join departments as p
left join daily as x on x.date = d.date_day and x.department = p.department
