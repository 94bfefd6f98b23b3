{{ config(alias='fct_messages') }}
-- BI view of marts.fct_messages: the same rows and columns (no personal data in this mart).
select
    msgid,
    user_id,
    external_userid,
    staff_id,
    department,
    chat_type,
    roomid,
    sender_type,
    msgtype,
    sent_at,
    sent_date,
    is_revoked,
    is_bot,
    counts_for_kpis,
    inquiry_id,
    staff_run_id
from {{ bi_ref('fct_messages') }}
