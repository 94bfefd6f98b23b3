-- Staff members: the current version of each, to label the staff_id of the facts and KPI marts
-- (BI reads it as bi.dim_staff). Employees are people too: the name is masked already in
-- staging (first character, the rest starred).
select
    staff_id,
    name_masked,
    department,
    role,
    is_active
from {{ ref('stg_crm__staff') }}
