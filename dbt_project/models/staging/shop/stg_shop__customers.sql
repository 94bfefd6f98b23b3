-- Current version of every shop customer.
with source as (
    select * from {{ source('raw_shop', 'customers') }}
    where {{ delivered_by_as_of() }}
)

select {{ distinct_on('buyer_id') }}
    buyer_id,
    {{ normalize_phone('phone') }} as phone_normalized,
    {{ clean_text('unionid') }} as unionid,
    {{ clean_text('nickname') }} as nickname,
    {{ shop_time('registered_at') }} as registered_at,
    {{ shop_time('updated_at') }} as updated_at,
    _dt, _file, _line, _load_id
from source
{{ latest_version('buyer_id', 'cast(updated_at as timestamptz)') }}
