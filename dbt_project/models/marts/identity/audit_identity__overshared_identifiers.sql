-- Audit: identifier values carried by more than var('overshared_identifier_threshold')
-- distinct source records (contact_ids and buyer_ids counted together). They link nobody
-- (docs/landing-contract.md "Identity"): a store's front-desk phone typed in for walk-in buyers, a
-- placeholder such as 13800000000, a shared family e-mail.
select
    identifier_type,
    identifier_value,
    records,
    contacts,
    buyers,
    {{ var('overshared_identifier_threshold') }} as threshold,
    first_seen_at
from {{ ref('int_identity__identifier_sharing') }}
where is_overshared
