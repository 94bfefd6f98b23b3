-- Group join/leave events; identical re-delivered events are kept once.
with source as (
    select * from {{ source('raw_community', 'group_members') }}
    where {{ delivered_by_as_of() }}
)

select {{ distinct_on('roomid, member_id, action, event_time') }}
    md5(concat_ws('|', roomid, member_id, action, event_time)) as membership_event_id,
    roomid,
    member_id,
    member_type,
    action,
    {{ epoch_ms_time('event_time') }} as event_at,
    _dt, _file, _line, _load_id
from source
{{ keep_first('roomid, member_id, action, event_time', '_dt desc, _file desc, _line desc') }}
