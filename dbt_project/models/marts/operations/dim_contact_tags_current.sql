-- Tags each contact holds at the end of as_of (docs/kpi-book.md "Tags": current tags), one row per
-- (contact, tag_group, tag_name). tagged_at = start of the current holding: a re-add of a tag
-- already held does not move it.
with holdings as (
    select contact_id, tag_group, tag_name, held_from
    from {{ ref('int_contact_tags__holdings') }}
    where is_current
),

identifiers as (
    select identifier_value as contact_id, user_id
    from {{ ref('dim_user_identifiers') }}
    where identifier_type = 'contact_id'
)

select
    holdings.contact_id,
    identifiers.user_id,
    holdings.tag_group,
    holdings.tag_name,
    holdings.held_from as tagged_at
from holdings
left join identifiers on identifiers.contact_id = holdings.contact_id
