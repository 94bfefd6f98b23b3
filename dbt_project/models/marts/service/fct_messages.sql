{{ config(
    materialized='incremental',
    unique_key='msgid',
    incremental_strategy=keyed_incremental_strategy(),
    on_schema_change='append_new_columns',
    post_hook="{{ delete_vanished_rows('msgid', messages_by_as_of_sql()) }}",
) }}
-- One row per message (msgid) of every chat, 1v1 and group, sent before the end of the
-- as-of day. Revoked and bot messages are kept and flagged (counts_for_kpis = false).
-- No `content` column: message text is free personal text and stays in staging.
--
-- Incremental (macros/incremental.sql "Incremental facts", DECISIONLOG): a row is a function
-- of its staged message, the inquiry and staff run it belongs to, the customer's user and the
-- staff member's department. A run writes the messages the table does not hold or holds with
-- another staged value or inquiry/run (new, re-delivered, withdrawn and replaced, cut off by
-- the previous as_of, or in a conversation that changed), and again every message of a
-- customer whose user changed (a merge or a split) and of a staff member whose department
-- changed; the post-hook deletes the rows whose message left staging or falls after this
-- run's as_of. The result equals a full build.
with messages as (
    {{ messages_by_as_of_sql() }}
),

conversation_messages as (
    select msgid, inquiry_id, staff_run_id from {{ ref('int_conversations__messages') }}
),

staff as (
    select staff_id, department from {{ ref('stg_crm__staff') }}
),

identifiers as (
    select identifier_value as external_userid, user_id
    from {{ ref('dim_user_identifiers') }}
    where identifier_type = 'external_userid'
),

staged as (
    select m.*, cm.inquiry_id, cm.staff_run_id
    from messages as m
    left join conversation_messages as cm on cm.msgid = m.msgid
),

batch as (
    {{ incremental_batch('staged', 'msgid',
        ['external_userid', 'staff_id', 'chat_type', 'roomid', 'sender_type', 'msgtype',
         'sent_at', 'is_revoked', 'is_bot', 'inquiry_id', 'staff_run_id'],
        lookups=[{'key': 'external_userid', 'on': 'customer_id', 'columns': ['user_id'],
                  'lookup': 'identifiers'},
                 {'key': 'staff_id', 'columns': ['department'], 'lookup': 'staff',
                  'values': {'department': department_of('now')}}],
        renamed={'external_userid': 'customer_id'}) }}
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
    m.inquiry_id,
    m.staff_run_id
from batch as m
left join staff as s on s.staff_id = m.staff_id
left join identifiers as ui on ui.external_userid = m.customer_id
