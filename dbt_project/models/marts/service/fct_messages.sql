-- One row per message (msgid) of every chat, 1v1 and group, sent before the end of the
-- as-of day. Revoked and bot messages are kept and flagged (counts_for_kpis = false).
-- No `content` column: message text is free personal text and stays in staging.
with messages as (
    select * from {{ ref('stg_community__messages') }}
    where sent_at < {{ as_of_end() }}
),

conversation_messages as (
    select msgid, inquiry_id, staff_run_id from {{ ref('int_conversations__messages') }}
),

staff as (
    select staff_id, department from {{ ref('stg_crm__staff') }}
),

identifiers as (
    select identifier_value, user_id from {{ ref('dim_user_identifiers') }}
    where identifier_type = 'external_userid'
)

select
    m.msgid,
    ui.user_id,
    m.customer_id as external_userid,
    m.staff_id,
    case when m.staff_id is not null then {{ department_of('s') }} end as department,
    m.chat_type,
    m.roomid,
    m.sender_type,
    m.msgtype,
    m.sent_at,
    cast(m.sent_at as date) as sent_date,
    m.is_revoked,
    m.is_bot,
    not m.is_revoked and not m.is_bot as counts_for_kpis,
    cm.inquiry_id,
    cm.staff_run_id
from messages as m
left join conversation_messages as cm on cm.msgid = m.msgid
left join staff as s on s.staff_id = m.staff_id
left join identifiers as ui on ui.identifier_value = m.customer_id
