-- Content pushes, one row per push_id.
with source as (
    select * from {{ source('raw_community', 'content_pushes') }}
    where {{ delivered_by_as_of() }}
)

select {{ distinct_on('push_id') }}
    push_id,
    {{ clean_text('content_id') }} as content_id,
    {{ mask_free_text(clean_text('title')) }} as title,
    coalesce({{ mask_free_text(clean_text('channel')) }}, 'unknown') as channel,
    {{ clean_text('staff_id') }} as staff_id,
    {{ epoch_ms_time('sent_time') }} as sent_at,
    _dt, _file, _line, _load_id
from source
{{ latest_version('push_id', 'cast(sent_time as bigint)') }}
