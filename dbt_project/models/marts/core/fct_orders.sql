-- One row per order: a distinct "Order Completed" order_id up to as_of that is not fully refunded.
with

orders as (

    select * from {{ ref('int_orders_netted') }}
    where not is_fully_refunded

),

final as (

    select
        order_id,
        person_id,
        ordered_at,
        gross_total,
        refunded_amount,
        net_revenue,
        currency,
        row_number() over (partition by person_id order by ordered_at, order_id) as order_number,
        message_id
    from orders

)

select * from final
