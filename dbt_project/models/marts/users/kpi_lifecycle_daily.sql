-- Lifecycle distribution (kpis.md "Users and lifecycle"): unified users per stage at the end
-- of each of the last var('lifecycle_history_days') days, by owning department (`none`
-- without a CRM owner; `all` = company total), with each stage's share of the users.
with stages as (
    select date_day, department, lifecycle_stage from {{ ref('fct_user_lifecycle_daily') }}
    union all
    select date_day, 'all', lifecycle_stage from {{ ref('fct_user_lifecycle_daily') }}
),

counted as (
    select date_day as date, department, lifecycle_stage, count(*) as users
    from stages
    group by 1, 2, 3
)

select
    *,
    cast(users as {{ type_double() }}) / sum(users) over (partition by date, department) as share_of_users
from counted
