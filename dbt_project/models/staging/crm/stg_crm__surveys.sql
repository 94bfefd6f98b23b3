-- NPS answers; a re-delivered response_id counts once (latest submitted_at).
with source as (
    select * from {{ source('raw_crm', 'surveys') }}
    where {{ delivered_by_as_of() }}
)

select {{ distinct_on('response_id') }}
    response_id,
    contact_id,
    cast(score as integer) as score,
    {{ crm_time('submitted_at') }} as submitted_at,
    _dt, _file, _line, _load_id
from source
{{ latest_version('response_id', 'submitted_at') }}
