-- One row per inquiry (docs/kpi-book.md "Response rates"): the customer messages of a conversation
-- from one that starts an inquiry up to the next staff message. Its response is the first
-- later staff message in the conversation (however late: an unanswered inquiry stays open
-- across days); FRT = response time - inquiry start time, in seconds.
with customer_messages as (
    select * from {{ ref('int_conversations__messages') }}
    where sender_type = 'customer'
),

inquiries as (
    select
        inquiry_id,
        {{ any_value('external_userid') }} as external_userid,
        {{ any_value('staff_id') }} as staff_id,
        min(sent_at) as started_at,
        max(sent_at) as last_customer_message_at,
        count(*) as customer_messages,
        -- the start message's first later staff message is the response
        max(case when is_inquiry_start then next_staff_message_at end) as responded_at,
        max(case when is_inquiry_start then next_staff_msgid end) as response_msgid
    from customer_messages
    group by inquiry_id
)

select
    inquiry_id,
    external_userid,
    staff_id,
    started_at,
    last_customer_message_at,
    customer_messages,
    responded_at,
    response_msgid,
    cast({{ epoch_ms("responded_at") }} - {{ epoch_ms("started_at") }} as {{ type_double() }}) / 1000 as frt_seconds
from inquiries
