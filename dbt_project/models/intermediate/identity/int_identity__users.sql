-- One user per identity component, with a stable user id.
--
-- The user id is derived from the component's anchor identifier: the identifier seen first
-- (earliest first_seen_at), ties broken by type (contact_id, buyer_id, external_userid,
-- unionid, phone, email) and then value. It is a hash of that identifier, so it does not
-- depend on run order or surrogate numbering: it stays the same from run to run while the
-- person's identifiers stay the same, and when a newer record joins an existing person the
-- older identifier keeps anchoring the id. When two people merge, the one seen first keeps
-- its id (see audit_identity__user_id_changes).
with components as (
    select * from {{ ref('int_identity__components') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by component_id
            order by
                first_seen_at asc nulls last,
                case identifier_type
                    when 'contact_id' then 1 when 'buyer_id' then 2 when 'external_userid' then 3
                    when 'unionid' then 4 when 'phone' then 5 else 6
                end asc,
                identifier_value asc
        ) as anchor_rank
    from components
),

anchors as (
    select
        component_id,
        identifier_type as anchor_type,
        'u_' || left(md5(identifier_type || ':' || identifier_value), 16) as user_id
    from ranked
    where anchor_rank = 1
)

select
    r.identifier_type,
    r.identifier_value,
    r.first_seen_at,
    r.component_id,
    a.user_id,
    r.anchor_rank = 1 as is_anchor
from ranked as r
inner join anchors as a using (component_id)
