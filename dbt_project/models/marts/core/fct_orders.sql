-- One row per order: a distinct "Order Completed" order_id up to as_of that is not fully refunded.
with

orders as (

    select * from {{ ref('int_orders_netted') }}
    -- An order whose message has no usable identifier (anonymousId 'undefined' and nothing else)
    -- belongs to no person: numbering such orders together would make one phantom customer of them.
    -- They stay in int_orders_netted (person_id NULL).
    where not is_fully_refunded and person_id is not null

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
