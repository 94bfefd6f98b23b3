-- Every distinct version of every shop customer: identity resolution links on every
-- identifier a buyer ever carried (docs/landing-contract.md "Identity"), not only the current one.
with source as (
    select * from {{ source('raw_shop', 'customers') }}
    where {{ delivered_by_as_of() }}
)

select {{ distinct_on('source.buyer_id, ' ~ cast_timestamptz('source.updated_at')) }}
    buyer_id,
    {{ pii_hash(normalize_phone('phone')) }} as phone_hash,
    {{ mask_phone(normalize_phone('phone')) }} as phone_masked,
    {{ clean_text('unionid') }} as unionid,
    {{ shop_time('registered_at') }} as registered_at,
    {{ shop_time('updated_at') }} as updated_at,
    _dt, _file, _line
from source
{{ keep_first('source.buyer_id, ' ~ cast_timestamptz('source.updated_at'), '_dt desc, _file desc, _line desc') }}
