-- Cohort LTV by owning department of the unified user (docs/kpi-book.md "LTV": broken down by
-- acquisition channel and by owning department); same rules as kpi_ltv_cohorts. department
-- `none` = users without a CRM owner; `all` = the total.
with user_horizon_ltv as (
    select * from {{ ref('fct_user_cohort_ltv') }}
)

select
    cohort_month,
    horizon_days,
    {{ company_total_label('department') }} as department,
    count(*) as users,
    bool_and(is_mature) as is_complete,
    case when bool_and(is_mature) then {{ decimal_of_double("avg(ltv)") }} end as avg_ltv,
    case when bool_and(is_mature) then cast(sum(ltv) as decimal(18, 2)) end as total_ltv,
    count(*) filter (where is_mature) as matured_users
from user_horizon_ltv
{{ group_with_company_total(['cohort_month', 'horizon_days'], 'department') }}
