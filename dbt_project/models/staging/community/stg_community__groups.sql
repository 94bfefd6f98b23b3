-- Current version of every customer group.
with source as (
    select * from {{ source('raw_community', 'groups') }}
    where {{ delivered_by_as_of() }}
)

select {{ distinct_on('roomid') }}
    roomid,
    {{ mask_free_text(clean_text('name')) }} as name,
    {{ clean_text('owner_staff_id') }} as owner_staff_id,
    {{ epoch_ms_time('created_at') }} as created_at,
    coalesce({{ clean_text('category') }}, 'unknown') as category,
    {{ epoch_ms_time('updated_at') }} as updated_at,
    _dt, _file, _line, _load_id
from source
{{ latest_version('roomid', 'cast(updated_at as bigint)') }}
