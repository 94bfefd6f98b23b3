-- Current version of every staff member.
with source as (
    select * from {{ source('raw_crm', 'staff') }}
    where {{ delivered_by_as_of() }}
)

select {{ distinct_on('staff_id') }}
    staff_id,
    {{ mask_name(clean_text('name')) }} as name_masked,
    {{ department_or_unknown(clean_text('department')) }} as department,
    {{ clean_text('role') }} as role,
    coalesce({{ try_cast('is_active', 'boolean') }}, true) as is_active,
    {{ crm_time('updated_at') }} as updated_at,
    _dt, _file, _line, _load_id
from source
{{ latest_version('staff_id', 'updated_at') }}
