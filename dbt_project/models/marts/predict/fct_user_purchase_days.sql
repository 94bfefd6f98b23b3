-- Predictive KPIs (docs/kpi-book.md#predictive-kpis): the purchase history the models learn
-- from, aggregated in SQL before any Python sees it: one row per buyer and business day with
-- a qualifying purchase up to the end of as_of (fct_orders: paid, net revenue > 0, refunds up
-- to the end of as_of), with the day's number of qualifying purchases and net revenue.
select
    user_id,
    order_date as purchase_day,
    count(*) as purchases,
    cast(sum(net_revenue) as double) as net_revenue
from {{ ref('fct_orders') }}
where is_qualifying
group by 1, 2
