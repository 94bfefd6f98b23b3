-- Paid orders, qualifying purchases, net revenue and AOV by order channel over the 30 days
-- up to the report day; channel `all` is the total (present, with 0 orders, on a day
-- without any).
with orders as (
    select
        d.report_date,
        o.channel,
        o.order_id,
        o.is_qualifying,
        o.net_revenue
    from {{ ref('rpt_report_days') }} as d
    left join {{ bi_ref('fct_orders') }} as o
        on o.is_paid and o.order_date > d.report_date - 30 and o.order_date <= d.report_date
),

by_channel as (
    select
        report_date,
        coalesce(channel, 'all') as channel,
        count(order_id) as paid_orders,
        count(order_id) filter (where is_qualifying) as qualifying_purchases,
        sum(net_revenue) as net_revenue,
        cast(sum(net_revenue) / nullif(qualifying_purchases, 0) as decimal(18, 2)) as aov,
        channel is null as is_total
    from orders
    where order_id is not null
    group by report_date, channel
    union all
    select
        report_date,
        'all' as channel,
        count(order_id) as paid_orders,
        count(order_id) filter (where is_qualifying) as qualifying_purchases,
        sum(net_revenue) as net_revenue,
        cast(sum(net_revenue) / nullif(qualifying_purchases, 0) as decimal(18, 2)) as aov,
        true as is_total
    from orders
    group by report_date
)

select
    report_date,
    channel,
    paid_orders,
    qualifying_purchases,
    net_revenue,
    aov,
    row_number() over (
        partition by report_date order by is_total asc, net_revenue desc, channel asc
    ) as sort_key
from by_channel
