-- Delivered/opened/clicked events; identical re-delivered events are kept once.
with source as (
    select * from {{ source('raw_community', 'content_events') }}
    where {{ delivered_by_as_of() }}
)

select
    md5(concat_ws('|', push_id, external_userid, event, event_time)) as content_event_id,
    push_id,
    external_userid,
    event,
    {{ epoch_ms_time('event_time') }} as event_at,
    _dt, _file, _line, _load_id
from source
qualify row_number() over (
    partition by push_id, external_userid, event, event_time
    order by _dt desc, _file desc, _line desc
) = 1
