{{ config(alias='dim_contact_tags_current') }}
-- BI view of marts.dim_contact_tags_current: the same rows and columns (no personal data in this mart).
select
    contact_id,
    user_id,
    tag_group,
    tag_name,
    tagged_at
from {{ bi_ref('dim_contact_tags_current') }}
