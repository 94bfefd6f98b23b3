-- Reconciliation (was the GX suite reconciliation.marts, critical): the net revenue of
-- fct_orders equals net revenue recomputed from staging with the rule of docs/kpi-book.md
-- "Orders and revenue", independent of the fct_orders model: paid = paid_at before the end of as_of
-- and not cancelled; refunds before the end; floored at 0. Tolerance 0.005 CNY. (The other
-- two reconciliations live in ltv_dim_users_equals_fct_orders and fct_orders.user_id's
-- relationships test.)
with orders as (
    select order_id, status, paid_at, paid_amount
    from {{ ref('stg_shop__orders') }}
    where created_at < {{ as_of_end() }} or created_at is null
),

refunds as (
    select order_id, sum(amount) as refunded
    from {{ ref('stg_shop__refunds') }}
    where refunded_at < {{ as_of_end() }}
    group by order_id
),

recomputed as (
    select coalesce(sum(greatest(o.paid_amount - coalesce(r.refunded, 0), 0)), 0) as total
    from orders as o
    left join refunds as r on r.order_id = o.order_id
    where o.paid_at is not null and o.paid_at < {{ as_of_end() }} and o.status <> 'cancelled'
),

published as (
    select coalesce(sum(net_revenue), 0) as total from {{ ref('fct_orders') }}
)

select p.total as fct_orders_net_revenue, r.total as staging_net_revenue
from published as p
cross join recomputed as r
where abs(p.total - r.total) > 0.005
