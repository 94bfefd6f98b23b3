-- Integrity: the daily company net revenue of kpi_sales_daily sums to fct_orders.
select
    (select sum(net_revenue) from {{ ref('kpi_sales_daily') }} where department = 'all') as daily_total,
    (select sum(net_revenue) from {{ ref('fct_orders') }} where is_paid) as orders_total
where (select sum(net_revenue) from {{ ref('kpi_sales_daily') }} where department = 'all')
   is distinct from (select sum(net_revenue) from {{ ref('fct_orders') }} where is_paid)
