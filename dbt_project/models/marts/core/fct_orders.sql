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
        -- BI types: money as decimal(18,2) (sums upstream are DECIMAL(38,2) on DuckDB)
        cast(gross_total as decimal(18, 2)) as gross_total,
        cast(refunded_amount as decimal(18, 2)) as refunded_amount,
        cast(net_revenue as decimal(18, 2)) as net_revenue,
        currency,
        row_number() over (partition by person_id order by ordered_at, order_id) as order_number,
        message_id
    from orders

)

select * from final
