{{ config(alias='dim_staff') }}
-- Staff members for BI labels (the KPI views carry staff_id only). Employees are people
-- too: the name is masked (first character, the rest starred) already in staging.
select
    staff_id,
    name_masked,
    department,
    role,
    is_active
from {{ bi_ref('stg_crm__staff') }}
