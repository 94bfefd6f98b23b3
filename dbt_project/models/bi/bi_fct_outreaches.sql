{{ config(alias='fct_outreaches') }}
-- BI view of marts.fct_outreaches: the same rows and columns (no personal data in this mart).
select
    outreach_id,
    user_id,
    external_userid,
    staff_id,
    department,
    started_at,
    started_date,
    ended_at,
    staff_messages,
    next_customer_message_at,
    is_matured_48h,
    is_effective
from {{ bi_ref('fct_outreaches') }}
