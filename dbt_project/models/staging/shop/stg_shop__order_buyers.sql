-- The buyer identifiers of every order snapshot (not only the current one), one row per
-- distinct (order_id, buyer_id, phone, unionid): identity resolution links on every
-- identifier that appears (sources.md "Identity").
with source as (
    select * from {{ source('raw_shop', 'orders') }}
    where {{ delivered_by_as_of() }}
)

select
    order_id,
    buyer_id,
    {{ pii_hash(normalize_phone('buyer_phone')) }} as buyer_phone_hash,
    {{ mask_phone(normalize_phone('buyer_phone')) }} as buyer_phone_masked,
    {{ clean_text('unionid') }} as unionid,
    min({{ shop_time('created_at') }}) as created_at,
    min({{ shop_time('updated_at') }}) as first_updated_at
from source
group by 1, 2, 3, 4, 5
