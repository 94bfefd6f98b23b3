-- Current version of every shop customer.
with source as (
    select * from {{ source('raw_shop', 'customers') }}
    where {{ delivered_by_as_of() }}
)

select {{ distinct_on('buyer_id') }}
    buyer_id,
    {{ pii_hash(normalize_phone('phone')) }} as phone_hash,
    {{ mask_phone(normalize_phone('phone')) }} as phone_masked,
    {{ normalize_phone('phone') }} is not null as is_phone_valid,
    {{ clean_text('unionid') }} as unionid,
    {{ mask_name(clean_text('nickname')) }} as nickname_masked,
    {{ shop_time('registered_at') }} as registered_at,
    {{ shop_time('updated_at') }} as updated_at,
    _dt, _file, _line, _load_id
from source
{{ latest_version('buyer_id', cast_timestamptz('updated_at')) }}
