{{ config(alias='kpi_sales_daily') }}
-- BI view of marts.kpi_sales_daily: the same rows and columns (no personal data in this mart).
select
    date,
    department,
    paid_orders,
    qualifying_purchases,
    net_revenue,
    aov,
    buyers,
    first_purchases
from {{ bi_ref('kpi_sales_daily') }}
