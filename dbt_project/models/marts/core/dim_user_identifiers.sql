-- Published: every normalised identifier value and the unified user it belongs to
-- (docs/kpi-book.md "Published marts"). Malformed and over-shared values are not listed.
with users as (
    select * from {{ ref('int_identity__users') }}
),

sharing as (
    select * from {{ ref('int_identity__identifier_sharing') }}
)

select
    u.identifier_type,
    u.identifier_value,
    u.user_id,
    s.records as source_records,
    u.first_seen_at,
    u.is_anchor
from users as u
inner join sharing as s using (identifier_type, identifier_value)
