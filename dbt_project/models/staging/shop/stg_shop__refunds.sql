-- Refunds; a re-delivered refund_id counts once (latest refunded_at).
with source as (
    select * from {{ source('raw_shop', 'refunds') }}
    where {{ delivered_by_as_of() }}
)

select {{ distinct_on('refund_id') }}
    refund_id,
    order_id,
    cast(amount as decimal(18, 2)) as amount,
    {{ shop_time('refunded_at') }} as refunded_at,
    {{ cast_timestamptz('refunded_at') }} as refunded_at_utc,
    {{ clean_text('reason') }} as reason,
    _dt, _file, _line, _load_id
from source
{{ latest_version('refund_id', cast_timestamptz('refunded_at')) }}
