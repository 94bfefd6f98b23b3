-- WeCom messages, one row per msgid (re-pulls count once). Revoked and bot messages are
-- kept here, flagged; every KPI ignores them (kpis.md).
with source as (
    select * from {{ source('raw_community', 'messages') }}
    where {{ delivered_by_as_of() }}
)

select
    msgid,
    chat_type,
    {{ clean_text('roomid') }} as roomid,
    "from" as sender_id,
    from_type as sender_type,
    tolist,
    json_extract_string(tolist, '$[0]') as first_recipient_id,
    case
        when from_type = 'customer' then "from"
        when chat_type = 'single' then json_extract_string(tolist, '$[0]')
    end as customer_id,
    case
        when from_type in ('staff', 'bot') then "from"
        when chat_type = 'single' then json_extract_string(tolist, '$[0]')
    end as staff_id,
    cast(msgtime as bigint) as msgtime_ms,
    {{ epoch_ms_time('msgtime') }} as sent_at,
    msgtype,
    content,
    msgtype = 'revoke' as is_revoked,
    from_type = 'bot' as is_bot,
    _dt, _file, _line, _load_id
from source
{{ latest_version('msgid', 'cast(msgtime as bigint)') }}
