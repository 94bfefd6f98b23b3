-- Current snapshot of every order (latest updated_at; ties to the later delivery).
with source as (
    select * from {{ source('raw_shop', 'orders') }}
    where {{ delivered_by_as_of() }}
),

typed as (
    select
        order_id,
        buyer_id,
        {{ normalize_phone('buyer_phone') }} as buyer_phone_normalized,
        {{ clean_text('unionid') }} as unionid,
        coalesce({{ clean_text('channel') }}, 'unknown') as channel,
        status,
        {{ shop_time('created_at') }} as created_at,
        {{ shop_time('paid_at') }} as paid_at,
        {{ shop_time('updated_at') }} as updated_at,
        cast(updated_at as timestamptz) as updated_at_utc,
        coalesce(currency, 'CNY') as currency,
        cast(total_amount as decimal(18, 2)) as total_amount,
        cast(discount_amount as decimal(18, 2)) as discount_amount,
        cast(shipping_amount as decimal(18, 2)) as shipping_amount,
        coalesce(cast(paid_amount as decimal(18, 2)), 0) as paid_amount,
        {{ clean_text('coupon_code') }} as coupon_code,
        items,
        _dt, _file, _line, _load_id
    from source
)

select * from typed
{{ latest_version('order_id', 'updated_at_utc') }}
