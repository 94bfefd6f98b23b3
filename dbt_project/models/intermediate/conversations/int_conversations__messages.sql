{#- No model contract: dbt allows one on an incremental model only with on_schema_change 'fail'
    or 'append_new_columns', and a release that changes a column would then stop the daily run
    until a full refresh; this model's not-nulls stay dbt tests. -#}
{{ config(
    materialized='incremental',
    unique_key=['external_userid', 'staff_id'],
    incremental_strategy=keyed_incremental_strategy(),
    on_schema_change='sync_all_columns',
    contract={'enforced': false},
    post_hook="{{ delete_vanished_rows('msgid', conversation_source_sql()) }}",
) }}
-- 1v1 messages that count for the conversation KPIs (docs/kpi-book.md "Response rates" and "1v1
-- effective communication rate"), one row per message, sequenced within its conversation
-- and classified with window functions only (gaps and islands, no recursion):
--   * a conversation is (customer external_userid, staff_id); staging already puts the
--     customer (`from` of a customer message, first of `tolist` of a staff message) in
--     customer_id and the staff member in staff_id;
--   * order: msgtime, then msgid;
--   * an inquiry starts at a customer message whose previous message in the conversation
--     is not a customer message (an earlier customer message is still unanswered exactly
--     when no staff message followed it); its id is the msgid of its first message;
--   * a staff run starts at a staff message whose previous message is not a staff message,
--     or which comes more than 24 hours after the previous (staff) message; its id is the
--     msgid of its first message. A run is a response when its first message directly
--     follows a customer message (it is the first staff message after an unanswered
--     inquiry); every other run is an outreach.
-- Incremental by conversation (macros/incremental.sql, DECISIONLOG): a run recomputes every
-- message of the conversations whose input messages differ from the ones the table holds
-- (new, changed, withdrawn, or moved across the as-of cut-off); a conversation whose
-- messages all left is deleted by the post-hook.
with source_messages as (
    {{ conversation_source_sql() }}
),

messages as (
    select * from source_messages
    {{ rows_of_changed_groups('source_messages', ['external_userid', 'staff_id'],
                               ['msgid', 'external_userid', 'staff_id', 'sender_type',
                                'sent_at', 'msgtime_ms']) }}
),

sequenced as (
    select
        *,
        row_number() over conversation as message_seq,
        lag(sender_type) over conversation as previous_sender_type,
        lag(sent_at) over conversation as previous_sent_at,
        -- first later staff / customer message in the conversation (macros/conversations.sql)
        {{ first_of_frame("sender_type = 'staff'", 'sent_at', 'later') }} as next_staff_message_at,
        {{ first_of_frame("sender_type = 'staff'", 'msgid', 'later') }} as next_staff_msgid,
        {{ first_of_frame("sender_type = 'customer'", 'sent_at', 'later') }}
            as next_customer_message_at
    from messages
    window
        conversation as (partition by external_userid, staff_id order by msgtime_ms, msgid),
        later as (
            partition by external_userid, staff_id order by msgtime_ms, msgid
            rows between 1 following and unbounded following
        )
),

flagged as (
    select
        *,
        sender_type = 'customer'
            and previous_sender_type is distinct from 'customer' as is_inquiry_start,
        sender_type = 'staff'
            and (previous_sender_type is distinct from 'staff'
                 or sent_at > previous_sent_at + interval '24 hour') as is_staff_run_start,
        sender_type = 'staff'
            and previous_sender_type is not distinct from 'customer' as is_response
    from sequenced
),

islands as (
    select
        *,
        -- the latest start so far
        {{ last_of_frame('is_inquiry_start', 'msgid', 'running') }} as last_inquiry_id,
        {{ last_of_frame('is_staff_run_start', 'msgid', 'running') }} as last_staff_run_id
    from flagged
    window running as (
        partition by external_userid, staff_id order by msgtime_ms, msgid
        rows between unbounded preceding and current row
    )
)

select
    msgid,
    external_userid,
    staff_id,
    sender_type,
    sent_at,
    msgtime_ms,
    message_seq,
    is_inquiry_start,
    case when sender_type = 'customer' then last_inquiry_id end as inquiry_id,
    is_staff_run_start,
    case when sender_type = 'staff' then last_staff_run_id end as staff_run_id,
    is_response,
    -- the inquiry a response run answers: the one of the customer message just before it
    case when is_response then last_inquiry_id end as answered_inquiry_id,
    next_staff_message_at,
    next_staff_msgid,
    next_customer_message_at
from islands
