{#-
    Customer value per customer with at least one order (SPEC 7): historical CLV = net revenue to
    as_of, and predicted 12-month CLV = BG/NBD expected purchases x Gamma-Gamma expected spend
    (clv_predictions; purchases_method / spend_method say when a documented fallback was used).
-#}
with

summary as (

    select * from {{ ref('clv_customer_summary') }}

),

predictions as (

    select * from {{ ref('clv_predictions') }}

),

assembled as (

    select
        summary.person_id,
        summary.first_order_at,
        summary.last_order_at,
        summary.orders,
        summary.avg_order_value,
        summary.net_revenue as historical_clv,
        predictions.prob_alive,
        predictions.expected_purchases_12m,
        predictions.expected_spend_per_order,
        predictions.predicted_clv_12m,
        predictions.purchases_method,
        predictions.spend_method,
        predictions.fit_id,
        summary.as_of
    from summary
    left join predictions on summary.person_id = predictions.person_id

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(person_id as {{ lifecycle.text_type() }}) as person_id,
        cast(first_order_at as timestamp) as first_order_at,
        cast(last_order_at as timestamp) as last_order_at,
        cast(orders as bigint) as orders,
        cast(avg_order_value as {{ lifecycle.double_type() }}) as avg_order_value,
        cast(historical_clv as decimal(18,2)) as historical_clv,
        cast(prob_alive as {{ lifecycle.double_type() }}) as prob_alive,
        cast(expected_purchases_12m as {{ lifecycle.double_type() }}) as expected_purchases_12m,
        cast(expected_spend_per_order as {{ lifecycle.double_type() }}) as expected_spend_per_order,
        cast(predicted_clv_12m as {{ lifecycle.double_type() }}) as predicted_clv_12m,
        cast(purchases_method as {{ lifecycle.text_type() }}) as purchases_method,
        cast(spend_method as {{ lifecycle.text_type() }}) as spend_method,
        cast(fit_id as {{ lifecycle.text_type() }}) as fit_id,
        cast(as_of as timestamp) as as_of
    from assembled

)

select * from final
