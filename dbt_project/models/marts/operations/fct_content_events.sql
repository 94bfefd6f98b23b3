-- One row per content event (delivered/opened/clicked) before the end of as_of, with the
-- recipient's unified user and its push's channel and sent day. An event whose push is not
-- (yet) known keeps NULL push attributes.
with events as (
    select content_event_id, push_id, external_userid, event, event_at
    from {{ ref('stg_community__content_events') }}
    where event_at < {{ as_of_end() }}
),

identifiers as (
    select identifier_value as external_userid, user_id
    from {{ ref('dim_user_identifiers') }}
    where identifier_type = 'external_userid'
)

select
    events.content_event_id,
    events.push_id,
    events.external_userid,
    identifiers.user_id,
    events.event,
    events.event_at,
    cast(events.event_at as date) as event_date,
    pushes.channel,
    pushes.sent_date
from events
left join identifiers on identifiers.external_userid = events.external_userid
left join {{ ref('fct_content_pushes') }} as pushes on pushes.push_id = events.push_id
