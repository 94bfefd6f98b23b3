-- Lifecycle distribution (docs/kpi-book.md "Users and lifecycle"): unified users per stage at the
-- end of each of the last var('lifecycle_history_days') days, by owning department (`none`
-- without a CRM owner; `all` = company total), with each stage's share of the users.
with counted as (
    select
        date_day as date,
        {{ company_total_label('department') }} as department,
        lifecycle_stage,
        count(*) as users
    from {{ ref('fct_user_lifecycle_daily') }}
    {{ group_with_company_total(['date_day', 'lifecycle_stage'], 'department') }}
)

select
    *,
    cast(users as {{ type_double() }}) / sum(users) over (partition by date, department) as share_of_users
from counted
