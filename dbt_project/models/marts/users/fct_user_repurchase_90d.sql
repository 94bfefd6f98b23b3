-- One row per buyer: first qualifying purchase t0, whether 90 days have passed by the end
-- of as_of (matured), and whether another qualifying purchase was paid in (t0, t0 + 90d].
{%- set end = as_of_end() %}

with buyers as (
    select user_id, source_channel, owner_staff_id, department, first_purchase_at
    from {{ ref('dim_users') }}
    where first_purchase_at is not null
),

repurchases as (
    select b.user_id, min(o.paid_at) as first_repurchase_at
    from buyers as b
    inner join {{ ref('fct_orders') }} as o
        on o.user_id = b.user_id
       and o.is_qualifying
       and o.paid_at > b.first_purchase_at
       and o.paid_at <= b.first_purchase_at + interval '90 day'
    group by 1
)

select
    b.user_id,
    b.source_channel,
    b.owner_staff_id,
    b.department,
    b.first_purchase_at,
    cast(date_trunc('month', b.first_purchase_at) as date) as cohort_month,
    b.first_purchase_at + interval '90 day' <= {{ end }} as is_matured,
    r.first_repurchase_at is not null as is_repurchased,
    r.first_repurchase_at
from buyers as b
left join repurchases as r using (user_id)
