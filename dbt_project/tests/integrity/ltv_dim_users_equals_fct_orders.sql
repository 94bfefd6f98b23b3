-- Integrity (fivetran/dbt_zendesk style): LTV computed two ways must agree. Total LTV over
-- dim_users = net revenue of paid orders in fct_orders; and per user.
with from_users as (
    select user_id, ltv from {{ ref('dim_users') }}
),

from_orders as (
    select user_id, sum(net_revenue) filter (where is_paid) as ltv
    from {{ ref('fct_orders') }}
    group by 1
)

select u.user_id, u.ltv as ltv_dim_users, coalesce(o.ltv, 0) as ltv_fct_orders
from from_users as u
left join from_orders as o using (user_id)
where u.ltv <> coalesce(o.ltv, 0)
union all
select o.user_id, null, o.ltv
from from_orders as o
left join from_users as u using (user_id)
where u.user_id is null
