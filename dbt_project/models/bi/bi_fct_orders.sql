{{ config(alias='fct_orders') }}
-- BI view of marts.fct_orders: the same rows and columns (no personal data in this mart).
select
    order_id,
    user_id,
    buyer_id,
    channel,
    status,
    created_at,
    paid_at,
    order_date,
    updated_at,
    total_amount,
    discount_amount,
    shipping_amount,
    paid_amount,
    refunds,
    refunded_amount,
    last_refunded_at,
    is_paid,
    net_revenue,
    is_qualifying
from {{ bi_ref('fct_orders') }}
