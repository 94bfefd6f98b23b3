{{ config(enabled=target.type == 'duckdb') }}
-- Completeness: pred_customer_90d has a row for every user with a qualifying purchase up to
-- the end of as_of (dim_users.qualifying_purchases > 0), and for no one else.
select u.user_id, 'buyer without a prediction' as problem
from {{ ref('dim_users') }} as u
left join {{ ref('pred_customer_90d') }} as p using (user_id)
where u.qualifying_purchases > 0 and p.user_id is null
union all
select p.user_id, 'prediction for a non-buyer'
from {{ ref('pred_customer_90d') }} as p
left join {{ ref('dim_users') }} as u using (user_id)
where coalesce(u.qualifying_purchases, 0) = 0
