-- 90-day repurchase rate by cohort month and the owning department and staff member of the
-- unified user (docs/kpi-book.md "90-day repurchase rate").
-- Same rules as kpi_repurchase_90d. Rows with owner_staff_id = 'all' are department totals;
-- department 'all' is the company total; users without an owner are under department 'none'.
with buyers as (
    select
        cohort_month,
        {{ department_or_none('department') }} as department,
        coalesce(owner_staff_id, 'none') as owner_staff_id,
        is_matured,
        is_repurchased
    from {{ ref('fct_user_repurchase_90d') }}
)

select
    cohort_month,
    {{ company_total_label('department') }} as department,
    {{ company_total_label('owner_staff_id') }} as owner_staff_id,
    count(*) as cohort_users,
    count(*) filter (where is_matured) as matured_users,
    count(*) filter (where is_matured and is_repurchased) as repurchased_users,
    cast(count(*) filter (where is_matured and is_repurchased) as {{ type_double() }})
        / nullif(count(*) filter (where is_matured), 0) as repurchase_rate_90d,
    count(*) filter (where not is_matured) as immature_users
from buyers
{{ group_with_company_total(['cohort_month'], ['department', 'owner_staff_id'], nested=true) }}
