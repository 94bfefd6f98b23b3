{{ config(alias='fct_tag_events') }}
-- BI view of marts.fct_tag_events: the same rows and columns (no personal data in this mart).
select
    tag_event_id,
    contact_id,
    user_id,
    tag_group,
    tag_name,
    action,
    tagged_at,
    tagged_date,
    staff_id,
    is_automated,
    owner_staff_id,
    department,
    changes_state
from {{ bi_ref('fct_tag_events') }}
