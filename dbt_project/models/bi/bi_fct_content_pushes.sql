{{ config(alias='fct_content_pushes') }}
-- BI view of marts.fct_content_pushes: the same rows and columns (no personal data in this mart).
select
    push_id,
    content_id,
    channel,
    staff_id,
    department,
    sent_at,
    sent_date,
    reached,
    openers,
    clickers,
    clickers_without_open
from {{ bi_ref('fct_content_pushes') }}
