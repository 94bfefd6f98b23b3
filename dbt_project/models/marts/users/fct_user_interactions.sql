-- Every interaction of a unified user before the end of as_of (docs/kpi-book.md "Conventions"):
-- customer messages (1v1 or group; revoked and bot messages are not messages), content
-- opens and clicks, and qualifying purchases. One row per event.
{%- set end = as_of_end() %}

with external_users as (
    select identifier_value as external_userid, user_id
    from {{ ref('dim_user_identifiers') }}
    where identifier_type = 'external_userid'
),

messages as (
    select m.msgid as event_key, u.user_id, m.sent_at as interaction_at, 'message' as interaction_type
    from {{ ref('stg_community__messages') }} as m
    inner join external_users as u on u.external_userid = m.sender_id
    where m.sender_type = 'customer' and not m.is_revoked and m.sent_at < {{ end }}
),

content as (
    select e.content_event_id, u.user_id, e.event_at, 'content_' || e.event
    from {{ ref('stg_community__content_events') }} as e
    inner join external_users as u using (external_userid)
    where e.event in ('opened', 'clicked') and e.event_at < {{ end }}
),

purchases as (
    select order_id, user_id, paid_at, 'purchase'
    from {{ ref('fct_orders') }}
    where is_qualifying and user_id is not null
)

select * from messages
union all
select * from content
union all
select * from purchases
