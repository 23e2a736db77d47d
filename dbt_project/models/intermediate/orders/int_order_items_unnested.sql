{#- Product lines of every order: the `products` array of its Order Completed message, enriched
    from the catalog seed (product_id found by sku when missing). -#}
with

orders as (

    select * from {{ ref('int_orders_netted') }}

),

web_events as (

    select message_id, products from {{ ref('int_web_events_resolved') }}

),

products as (

    select * from {{ ref('products') }}

),

unnested as (

    select
        orders.order_id,
        orders.person_id,
        orders.ordered_at,
        orders.is_fully_refunded,
        {{ lifecycle.unnest_json_array('web_events.products', '$') }} as product
    from orders
    inner join web_events on web_events.message_id = orders.message_id
    where web_events.products is not null

),

lines as (

    select
        order_id,
        person_id,
        ordered_at,
        is_fully_refunded,
        nullif(trim({{ lifecycle.json_text('product', '$.product_id') }}), '') as raw_product_id,
        nullif(trim({{ lifecycle.json_text('product', '$.sku') }}), '') as raw_sku,
        {{ lifecycle.json_text('product', '$.name') }} as raw_name,
        {{ lifecycle.json_text('product', '$.category') }} as raw_category,
        {{ lifecycle.try_cast(lifecycle.json_text('product', '$.price'), 'decimal(18, 2)') }} as raw_price,
        {{ lifecycle.try_cast(lifecycle.json_text('product', '$.quantity'), 'integer') }} as raw_quantity
    from unnested

),

final as (

    select
        lines.order_id,
        row_number() over (
            partition by lines.order_id order by lines.raw_product_id, lines.raw_sku, lines.raw_price
        ) as line_number,
        lines.person_id,
        coalesce(by_id.product_id, by_sku.product_id, lines.raw_product_id) as product_id,
        coalesce(by_id.sku, by_sku.sku, lines.raw_sku) as sku,
        coalesce(by_id.name, by_sku.name, lines.raw_name) as product_name,
        coalesce(by_id.category, by_sku.category, lines.raw_category) as category,
        coalesce(by_id.tier, by_sku.tier) as tier,
        coalesce(lines.raw_quantity, 1) as quantity,
        coalesce(lines.raw_price, by_id.price, by_sku.price) as price,
        lines.ordered_at,
        lines.is_fully_refunded
    from lines
    left join products as by_id on by_id.product_id = lines.raw_product_id
    left join products as by_sku on by_sku.sku = lines.raw_sku and lines.raw_product_id is null

)

select * from final
