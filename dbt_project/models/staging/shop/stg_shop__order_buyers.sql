-- The buyer identifiers of every order snapshot (not only the current one), one row per
-- distinct (order_id, buyer_id, phone, unionid): identity resolution links on every
-- identifier that appears (docs/landing-contract.md "Identity").
-- The snapshots of an order are grouped by the phone as delivered first: an order's updates
-- repeat its phone, so the phone is normalised, hashed and masked once per order and
-- delivered spelling, not once per snapshot (at 1M users: 6.1M snapshots, 1.6M orders).
-- Spellings that normalise alike then merge in the second grouping, and a minimum of
-- minimums is the minimum: the same rows as grouping the snapshots by the hash directly.
with source as (
    select * from {{ source('raw_shop', 'orders') }}
    where {{ delivered_by_as_of() }}
),

by_delivered_phone as (
    select
        order_id,
        buyer_id,
        buyer_phone,
        {{ clean_text('unionid') }} as unionid,
        min({{ shop_time('created_at') }}) as created_at,
        min({{ shop_time('updated_at') }}) as first_updated_at
    from source
    group by 1, 2, 3, 4
)

select
    order_id,
    buyer_id,
    {{ pii_hash(normalize_phone('buyer_phone')) }} as buyer_phone_hash,
    {{ mask_phone(normalize_phone('buyer_phone')) }} as buyer_phone_masked,
    unionid,
    min(created_at) as created_at,
    min(first_updated_at) as first_updated_at
from by_delivered_phone
group by 1, 2, 3, 4, 5
