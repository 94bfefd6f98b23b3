{{ config(alias='fct_content_events') }}
-- BI view of marts.fct_content_events: the same rows and columns (no personal data in this mart).
select
    content_event_id,
    push_id,
    external_userid,
    user_id,
    event,
    event_at,
    event_date,
    channel,
    sent_date
from {{ bi_ref('fct_content_events') }}
