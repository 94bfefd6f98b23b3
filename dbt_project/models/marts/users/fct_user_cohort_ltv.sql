-- One row per buyer and LTV horizon H in (30, 90, 180, 365) days: net revenue of the user's
-- paid orders with paid_at <= t0 + H days (t0 = first qualifying purchase), and whether the
-- user has had H full days by the end of as_of (docs/kpi-book.md "LTV").
{%- set end = as_of_end() %}

with buyers as (
    select user_id, source_channel, {{ department_or_none('department') }} as department, first_purchase_at,
           cast(date_trunc('month', first_purchase_at) as date) as cohort_month
    from {{ ref('dim_users') }}
    where first_purchase_at is not null
),

horizons as (
    select {{ unnest_values([30, 90, 180, 365]) }} as horizon_days
),

user_horizon_ltv as (
    select
        b.user_id,
        b.cohort_month,
        b.source_channel,
        b.department,
        b.first_purchase_at,
        h.horizon_days,
        b.first_purchase_at + h.horizon_days * interval '1 day' <= {{ end }} as is_mature,
        coalesce(sum(o.net_revenue), 0) as ltv
    from buyers as b
    cross join horizons as h
    left join {{ ref('fct_orders') }} as o
        on o.user_id = b.user_id
       and o.is_paid
       and o.paid_at <= b.first_purchase_at + h.horizon_days * interval '1 day'
    group by 1, 2, 3, 4, 5, 6, 7
)

select * from user_horizon_ltv
