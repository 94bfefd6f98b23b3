{{ config(alias='fct_group_membership') }}
-- BI view of marts.fct_group_membership: the same rows and columns (no personal data in this mart).
select
    membership_id,
    roomid,
    member_id,
    member_type,
    user_id,
    joined_at,
    left_at,
    joined_date,
    left_date,
    is_current,
    owner_staff_id,
    department
from {{ bi_ref('fct_group_membership') }}
