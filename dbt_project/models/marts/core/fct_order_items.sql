-- Order x product line for the orders in fct_orders, with catalog attributes.
with

orders as (

    select order_id from {{ ref('fct_orders') }}

),

items as (

    select * from {{ ref('int_order_items_unnested') }}

),

final as (

    select
        items.order_id,
        items.line_number,
        items.person_id,
        items.product_id,
        items.sku,
        items.product_name,
        items.category,
        items.tier,
        items.quantity,
        items.price,
        items.quantity * items.price as line_total,
        items.ordered_at
    from items
    inner join orders on orders.order_id = items.order_id

)

select * from final
