-- One row per staff run (docs/kpi-book.md "1v1 effective communication rate"): consecutive staff
-- messages of a conversation with no customer message between them, split where two
-- consecutive ones are more than 24 hours apart. A run whose first message answers an
-- unanswered inquiry is a `response`; every other run is an `outreach` starting at its
-- first message. When a run is split at a > 24h gap only its first part can be a response:
-- the later parts start with a message that is no longer the first staff message after
-- the inquiry, so they are outreaches.
with staff_messages as (
    select * from {{ ref('int_conversations__messages') }}
    where sender_type = 'staff'
),

runs as (
    select
        staff_run_id,
        {{ any_value('external_userid') }} as external_userid,
        {{ any_value('staff_id') }} as staff_id,
        min(sent_at) as started_at,
        max(sent_at) as ended_at,
        count(*) as staff_messages,
        bool_or(is_staff_run_start and is_response) as is_response,
        max(answered_inquiry_id) as answered_inquiry_id,
        -- the customer's next message after the run's first message
        max(case when is_staff_run_start then next_customer_message_at end)
            as next_customer_message_at
    from staff_messages
    group by staff_run_id
)

select
    staff_run_id,
    external_userid,
    staff_id,
    case when is_response then 'response' else 'outreach' end as run_type,
    started_at,
    ended_at,
    staff_messages,
    answered_inquiry_id,
    next_customer_message_at
from runs
