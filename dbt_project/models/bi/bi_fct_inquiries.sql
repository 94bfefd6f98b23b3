{{ config(alias='fct_inquiries') }}
-- BI view of marts.fct_inquiries: the same rows and columns (no personal data in this mart).
select
    inquiry_id,
    user_id,
    external_userid,
    staff_id,
    department,
    started_at,
    started_date,
    responded_at,
    frt_seconds,
    frt_business_seconds,
    response_msgid,
    customer_messages,
    is_matured_2h,
    is_answered_2h,
    is_matured_48h,
    is_answered_48h
from {{ bi_ref('fct_inquiries') }}
