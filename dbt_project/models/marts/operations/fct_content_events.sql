{{ config(
    materialized='incremental',
    unique_key='content_event_id',
    incremental_strategy=keyed_incremental_strategy(),
    on_schema_change='append_new_columns',
    post_hook="{{ delete_vanished_rows('content_event_id', content_events_by_as_of_sql()) }}",
) }}
-- One row per content event (delivered/opened/clicked) before the end of as_of, with the
-- recipient's unified user and its push's channel and sent day. An event whose push is not
-- (yet) known keeps NULL push attributes.
--
-- Incremental (macros/incremental.sql "Incremental facts", DECISIONLOG): a row is a function
-- of its staged event (whose key, content_event_id, hashes every column the row takes from
-- it, so a staged event never changes under its key), the recipient's user and the push.
-- A run writes the events the table does not hold yet (new ones, and those the previous
-- as_of cut off), and again every event of a recipient whose user changed (a merge or a
-- split) and of a push whose channel or sent day changed; the post-hook deletes the rows
-- whose event left staging or falls after this run's as_of. The result equals a full build.
with events as (
    {{ content_events_by_as_of_sql() }}
),

identifiers as (
    select identifier_value as external_userid, user_id
    from {{ ref('dim_user_identifiers') }}
    where identifier_type = 'external_userid'
),

pushes as (
    select push_id, channel, sent_date from {{ ref('fct_content_pushes') }}
),

batch as (
    -- a content event's key hashes every column the row takes from it: only missing ones differ
    {{ incremental_batch('events', 'content_event_id', [],
        lookups=[{'key': 'external_userid', 'columns': ['user_id'], 'lookup': 'identifiers'},
                 {'key': 'push_id', 'columns': ['channel', 'sent_date'], 'lookup': 'pushes'}]) }}
)

select
    batch.content_event_id,
    batch.push_id,
    batch.external_userid,
    identifiers.user_id,
    batch.event,
    batch.event_at,
    cast(batch.event_at as date) as event_date,
    pushes.channel,
    pushes.sent_date
from batch
left join identifiers on identifiers.external_userid = batch.external_userid
left join pushes on pushes.push_id = batch.push_id
