-- One row per item of the current order snapshot.
with orders as (
    select order_id, items from {{ ref('stg_shop__orders') }} where items is not null
),

items as (
    select
        order_id,
        {{ index_series('json_array_length(items)') }} as item_index,
        items
    from orders
)

select
    order_id || '-' || cast(item_index + 1 as {{ type_text('varchar') }}) as order_item_id,
    order_id,
    cast(item_index + 1 as integer) as line_number,
    {{ json_array_text('items', 'item_index', 'sku') }} as sku,
    {{ mask_free_text(json_array_text('items', 'item_index', 'product_name')) }} as product_name,
    {{ json_array_text('items', 'item_index', 'category') }} as category,
    {{ try_cast(json_array_text('items', 'item_index', 'quantity'), 'integer') }} as quantity,
    {{ try_cast(json_array_text('items', 'item_index', 'unit_price'), 'decimal(18, 2)') }}
        as unit_price
from items
