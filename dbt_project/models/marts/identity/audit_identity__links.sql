-- Audit: why records were merged. One row per identifier value that joins two or more
-- source records into one user: the user, the identifier, and how many contacts, buyers and
-- community-only external users it links. A user made of one record has no row here.
with record_identifiers as (
    select * from {{ ref('int_identity__record_identifiers') }}
),

users as (
    select * from {{ ref('int_identity__users') }}
)

select
    u.user_id,
    ri.identifier_type,
    ri.identifier_value,
    count(distinct ri.record_type || ':' || ri.record_key) as records_linked,
    count(distinct ri.record_key) filter (where ri.record_type = 'contact') as contacts_linked,
    count(distinct ri.record_key) filter (where ri.record_type = 'buyer') as buyers_linked,
    count(distinct ri.record_key) filter (where ri.record_type = 'community') as community_linked
from record_identifiers as ri
inner join users as u using (identifier_type, identifier_value)
group by 1, 2, 3
having count(distinct ri.record_type || ':' || ri.record_key) >= 2
