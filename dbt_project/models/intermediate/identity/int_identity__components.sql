-- Connected components of the identity graph (docs/landing-contract.md "Identity"): nodes are the
-- identifier values that are not over-shared; every source record links its anchor (its own
-- contact_id / buyer_id / external_userid) to each of its other identifiers, so two records
-- sharing any identifier fall into one component, transitively.
--
-- Components by label propagation in a recursive CTE: every node starts with its own label
-- and hands it to its neighbours; a label only travels to nodes with a larger id, which
-- keeps the walk small and still brings the component's smallest id to every node.
with sharing as (
    select * from {{ ref('int_identity__identifier_sharing') }}
),

record_identifiers as (
    select * from {{ ref('int_identity__record_identifiers') }}
),

nodes as (
    select
        identifier_type,
        identifier_value,
        first_seen_at,
        row_number() over (order by identifier_type, identifier_value) as node_id
    from sharing
    where not is_overshared
),

anchored as (
    select
        ri.record_type,
        ri.record_key,
        case ri.record_type
            when 'contact' then 'contact_id'
            when 'buyer' then 'buyer_id'
            else 'external_userid'
        end as anchor_type,
        ri.identifier_type,
        ri.identifier_value
    from record_identifiers as ri
),

edges as (
    select distinct a.node_id as src, b.node_id as dst
    from anchored as r
    inner join nodes as a
        on a.identifier_type = r.anchor_type and a.identifier_value = r.record_key
    inner join nodes as b
        on b.identifier_type = r.identifier_type and b.identifier_value = r.identifier_value
    where a.node_id <> b.node_id
),

undirected as (
    select src, dst from edges
    union
    select dst, src from edges
),

labels as (
    {{ component_labels('nodes', 'undirected') }}
)

select
    n.node_id,
    n.identifier_type,
    n.identifier_value,
    n.first_seen_at,
    l.component_id
from nodes as n
inner join labels as l using (node_id)
