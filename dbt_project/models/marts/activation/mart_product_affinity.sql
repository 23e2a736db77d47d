{#-
    Co-purchase affinity between products (SPEC 8 cross_sell), one row per ordered pair
    (product_id -> associated_product_id) bought in the same order. A basket is the set of distinct
    products of one order in fct_orders (fully refunded orders are not orders).
    support    = orders with both / all orders
    confidence = orders with both / orders with product_id        (P(associated | product))
    lift       = confidence / (orders with associated_product_id / all orders)
    meets_min_support flags pairs at or above var('cross_sell_min_support').
-#}
with

order_items as (

    select * from {{ ref('fct_order_items') }}

),

products as (

    select * from {{ ref('products') }}

),

baskets as (

    select distinct
        order_id,
        product_id
    from order_items
    where product_id is not null

),

order_total as (

    select count(distinct order_id) as total_orders
    from baskets

),

product_orders as (

    select
        product_id,
        count(*) as orders_with_product
    from baskets
    group by product_id

),

pair_orders as (

    select
        antecedent.product_id,
        consequent.product_id as associated_product_id,
        count(*) as orders_with_both
    from baskets as antecedent
    inner join baskets as consequent
        on
            antecedent.order_id = consequent.order_id
            and antecedent.product_id <> consequent.product_id
    group by antecedent.product_id, consequent.product_id

),

metrics as (

    select
        pair_orders.product_id,
        pair_orders.associated_product_id,
        pair_orders.orders_with_both,
        antecedent.orders_with_product,
        consequent.orders_with_product as orders_with_associated,
        order_total.total_orders,
        cast(pair_orders.orders_with_both as {{ lifecycle.double_type() }}) / order_total.total_orders as support,
        cast(pair_orders.orders_with_both as {{ lifecycle.double_type() }}) / antecedent.orders_with_product as confidence,
        (cast(pair_orders.orders_with_both as {{ lifecycle.double_type() }}) / antecedent.orders_with_product)
        / (cast(consequent.orders_with_product as {{ lifecycle.double_type() }}) / order_total.total_orders) as lift
    from pair_orders
    cross join order_total
    inner join product_orders as antecedent on pair_orders.product_id = antecedent.product_id
    inner join product_orders as consequent on pair_orders.associated_product_id = consequent.product_id

),

assembled as (

    select
        metrics.product_id,
        metrics.associated_product_id,
        associated.name as associated_product_name,
        associated.category as associated_product_category,
        associated.price as associated_product_price,
        metrics.orders_with_both,
        metrics.orders_with_product,
        metrics.orders_with_associated,
        metrics.total_orders,
        metrics.support,
        metrics.confidence,
        metrics.lift,
        metrics.support >= {{ var('cross_sell_min_support') }} as meets_min_support
    from metrics
    left join products as associated on metrics.associated_product_id = associated.product_id

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(product_id as {{ lifecycle.text_type() }}) as product_id,
        cast(associated_product_id as {{ lifecycle.text_type() }}) as associated_product_id,
        cast(associated_product_name as {{ lifecycle.text_type() }}) as associated_product_name,
        cast(associated_product_category as {{ lifecycle.text_type() }}) as associated_product_category,
        cast(associated_product_price as integer) as associated_product_price,
        cast(orders_with_both as bigint) as orders_with_both,
        cast(orders_with_product as bigint) as orders_with_product,
        cast(orders_with_associated as bigint) as orders_with_associated,
        cast(total_orders as bigint) as total_orders,
        cast(support as {{ lifecycle.double_type() }}) as support,
        cast(confidence as {{ lifecycle.double_type() }}) as confidence,
        cast(lift as {{ lifecycle.double_type() }}) as lift,
        cast(meets_min_support as boolean) as meets_min_support
    from assembled

)

select * from final
