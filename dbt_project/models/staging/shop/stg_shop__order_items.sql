-- One row per item of the current order snapshot.
with orders as (
    select order_id, items from {{ ref('stg_shop__orders') }} where items is not null
),

items as (
    select
        order_id,
        unnest(range(cast(json_array_length(items) as bigint))) as item_index,
        items
    from orders
)

select
    order_id || '-' || cast(item_index + 1 as varchar) as order_item_id,
    order_id,
    cast(item_index + 1 as integer) as line_number,
    json_extract_string(items, '$[' || item_index || '].sku') as sku,
    json_extract_string(items, '$[' || item_index || '].product_name') as product_name,
    json_extract_string(items, '$[' || item_index || '].category') as category,
    try_cast(json_extract_string(items, '$[' || item_index || '].quantity') as integer) as quantity,
    try_cast(json_extract_string(items, '$[' || item_index || '].unit_price') as decimal(18, 2))
        as unit_price
from items
