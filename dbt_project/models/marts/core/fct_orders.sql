-- Published: one row per current order (latest snapshot of an order_id delivered by as_of),
-- with its refunds, net revenue and whether it is a qualifying purchase (docs/kpi-book.md "Orders
-- and revenue"):
--   paid          = paid_at is not null, before the end of as_of, and status <> 'cancelled'
--   net revenue   = paid_amount - refunds (refunded before the end of as_of), floored at 0;
--                   an unpaid order has net revenue 0
--   qualifying    = paid and net revenue > 0 (a fully refunded order is not a purchase)
--   order_date    = business date of paid_at
--
-- Incremental (macros/incremental.sql "Incremental facts", DECISIONLOG): a run writes the
-- orders the table does not hold or holds with another value (a new snapshot, a refund, a
-- payment the new as_of lets in), and again every order of a buyer whose user changed (a
-- merge or a split); the post-hook deletes the orders that left. The result equals a full
-- build.
{{ config(
    materialized='incremental',
    unique_key='order_id',
    incremental_strategy=keyed_incremental_strategy(),
    on_schema_change='append_new_columns',
    post_hook="{{ delete_vanished_rows('order_id', orders_by_as_of_sql()) }}",
) }}
{%- set end = as_of_end() %}

with orders as (
    {{ orders_by_as_of_sql() }}
),

refunds as (
    select
        order_id,
        count(*) as refunds,
        sum(amount) as refunded_amount,
        max(refunded_at) as last_refunded_at
    from {{ ref('stg_shop__refunds') }}
    where refunded_at < {{ end }}
    group by 1
),

buyers as (
    select identifier_value as buyer_id, user_id
    from {{ ref('dim_user_identifiers') }}
    where identifier_type = 'buyer_id'
),

staged as (
    select
        o.order_id,
        o.buyer_id,
        o.channel,
        o.status,
        o.created_at,
        case when o.paid_at < {{ end }} then o.paid_at end as paid_at,
        o.updated_at,
        o.total_amount,
        o.discount_amount,
        o.shipping_amount,
        o.paid_amount,
        coalesce(r.refunds, 0) as refunds,
        cast(coalesce(r.refunded_amount, 0) as decimal(18, 2)) as refunded_amount,
        r.last_refunded_at,
        o.paid_at is not null and o.paid_at < {{ end }} and o.status <> 'cancelled' as is_paid
    from orders as o
    left join refunds as r using (order_id)
),

batch as (
    {{ incremental_batch('staged', 'order_id',
        ['buyer_id', 'channel', 'status', 'created_at', 'paid_at', 'updated_at',
         'total_amount', 'discount_amount', 'shipping_amount', 'paid_amount', 'refunds',
         'refunded_amount', 'last_refunded_at', 'is_paid'],
        lookups=[{'key': 'buyer_id', 'columns': ['user_id'], 'lookup': 'buyers'}]) }}
),

typed as (
    select batch.*, b.user_id
    from batch
    left join buyers as b using (buyer_id)
)

select
    order_id,
    user_id,
    buyer_id,
    channel,
    status,
    created_at,
    paid_at,
    cast(paid_at as date) as order_date,
    updated_at,
    total_amount,
    discount_amount,
    shipping_amount,
    paid_amount,
    refunds,
    refunded_amount,
    last_refunded_at,
    is_paid,
    cast(case when is_paid then greatest(paid_amount - refunded_amount, 0) else 0 end
         as decimal(18, 2)) as net_revenue,
    is_paid and paid_amount - refunded_amount > 0 as is_qualifying
from typed
