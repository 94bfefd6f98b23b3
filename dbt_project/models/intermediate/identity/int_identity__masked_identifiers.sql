-- The masked display form of every hashed identifier (phone, email): what BI shows instead
-- of the hash (bi.dim_user_identifiers). The mask is a function of the normalised value, as
-- the hash is, so each hash has exactly one masked form.
with pairs as (
    select 'phone' as identifier_type, phone_hash as identifier_value, phone_masked as identifier_masked
    from {{ ref('stg_crm__contact_versions') }}
    union all
    select 'email', email_hash, email_masked from {{ ref('stg_crm__contact_versions') }}
    union all
    select 'phone', phone_hash, phone_masked from {{ ref('stg_shop__customer_versions') }}
    union all
    select 'phone', buyer_phone_hash, buyer_phone_masked from {{ ref('stg_shop__order_buyers') }}
)

select distinct identifier_type, identifier_value, identifier_masked
from pairs
where identifier_value is not null
