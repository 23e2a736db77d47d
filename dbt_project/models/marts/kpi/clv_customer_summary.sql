{#-
    Per-customer inputs of the CLV models (flows/clv), computed set-based here so the Python model
    only fits: frequency x = orders - 1 (the first purchase is excluded), recency t_x = weeks from
    first to last order, tenure T = weeks from first order to as_of, repeat_monetary_value = mean
    net revenue of the repeat orders (NULL without repeats), avg_order_value over all orders.
-#}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

as_of as (

    select {{ lifecycle_as_of() }} as as_of

),

customers as (

    select
        person_id,
        count(*) as orders,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        sum(net_revenue) as net_revenue,
        avg(case when order_number > 1 then net_revenue end) as repeat_monetary_value
    from orders
    group by person_id

),

assembled as (

    select
        customers.person_id,
        customers.orders,
        customers.orders - 1 as frequency,
        {{ lifecycle.seconds_between('customers.first_order_at', 'customers.last_order_at') }} / 604800.0
            as recency_weeks,
        {{ lifecycle.seconds_between('customers.first_order_at', 'as_of.as_of') }} / 604800.0 as tenure_weeks,
        cast(customers.repeat_monetary_value as {{ lifecycle.double_type() }}) as repeat_monetary_value,
        cast(customers.net_revenue as {{ lifecycle.double_type() }}) / customers.orders as avg_order_value,
        customers.net_revenue,
        customers.first_order_at,
        customers.last_order_at,
        as_of.as_of
    from customers
    cross join as_of

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(person_id as {{ lifecycle.text_type() }}) as person_id,
        cast(orders as bigint) as orders,
        cast(frequency as bigint) as frequency,
        cast(recency_weeks as {{ lifecycle.double_type() }}) as recency_weeks,
        cast(tenure_weeks as {{ lifecycle.double_type() }}) as tenure_weeks,
        cast(repeat_monetary_value as {{ lifecycle.double_type() }}) as repeat_monetary_value,
        cast(avg_order_value as {{ lifecycle.double_type() }}) as avg_order_value,
        cast(net_revenue as decimal(18,2)) as net_revenue,
        cast(first_order_at as timestamp) as first_order_at,
        cast(last_order_at as timestamp) as last_order_at,
        cast(as_of as timestamp) as as_of
    from assembled

)

select * from final
