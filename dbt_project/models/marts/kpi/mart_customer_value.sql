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

final as (

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

)

select * from final
