{#-
    Calibration / holdout split for the CLV backtest (mart_clv_backtest, Fader, Hardie and Lee 2005,
    section 5 on CDNOW): the history before the cut-off (as_of minus `clv_backtest_holdout_weeks`)
    gives each customer the model inputs as clv_customer_summary defines them, computed as if the
    cut-off were as_of; the holdout (cut-off to as_of) gives what the customer actually did next.
    Only customers whose first order is before the cut-off are in the backtest.
-#}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

as_of as (

    select {{ lifecycle_as_of() }} as as_of

),

cutoff as (

    select
        as_of,
        {{ dbt.dateadd('day', -7 * var('clv_backtest_holdout_weeks'), 'as_of') }} as cutoff_at,
        cast({{ var('clv_backtest_holdout_weeks') }} as {{ lifecycle.double_type() }}) as holdout_weeks
    from as_of

),

calibration as (

    select
        orders.person_id,
        count(*) as calibration_orders,
        min(orders.ordered_at) as first_order_at,
        max(orders.ordered_at) as last_order_at,
        avg(case when orders.order_number > 1 then orders.net_revenue end) as repeat_monetary_value,
        sum(orders.net_revenue) as calibration_net_revenue
    from orders
    cross join cutoff
    where orders.ordered_at < cutoff.cutoff_at
    group by orders.person_id

),

holdout as (

    select
        orders.person_id,
        count(*) as holdout_purchases,
        sum(orders.net_revenue) as holdout_net_revenue
    from orders
    cross join cutoff
    where orders.ordered_at >= cutoff.cutoff_at
      and orders.ordered_at <= cutoff.as_of
    group by orders.person_id

),

assembled as (

    select
        calibration.person_id,
        calibration.calibration_orders - 1 as frequency,
        {{ lifecycle.seconds_between('calibration.first_order_at', 'calibration.last_order_at') }} / 604800.0
            as recency_weeks,
        {{ lifecycle.seconds_between('calibration.first_order_at', 'cutoff.cutoff_at') }} / 604800.0
            as tenure_weeks,
        cast(calibration.repeat_monetary_value as {{ lifecycle.double_type() }}) as repeat_monetary_value,
        cast(calibration.calibration_net_revenue as {{ lifecycle.double_type() }}) / calibration.calibration_orders
            as avg_order_value,
        coalesce(holdout.holdout_purchases, 0) as holdout_purchases,
        cast(coalesce(holdout.holdout_net_revenue, 0) as {{ lifecycle.double_type() }}) as holdout_net_revenue,
        calibration.first_order_at,
        cutoff.cutoff_at,
        cutoff.holdout_weeks,
        cutoff.as_of
    from calibration
    cross join cutoff
    left join holdout on calibration.person_id = holdout.person_id

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(person_id as {{ lifecycle.text_type() }}) as person_id,
        cast(frequency as bigint) as frequency,
        cast(recency_weeks as {{ lifecycle.double_type() }}) as recency_weeks,
        cast(tenure_weeks as {{ lifecycle.double_type() }}) as tenure_weeks,
        cast(repeat_monetary_value as {{ lifecycle.double_type() }}) as repeat_monetary_value,
        cast(avg_order_value as {{ lifecycle.double_type() }}) as avg_order_value,
        cast(holdout_purchases as bigint) as holdout_purchases,
        cast(holdout_net_revenue as {{ lifecycle.double_type() }}) as holdout_net_revenue,
        cast(first_order_at as timestamp) as first_order_at,
        cast(cutoff_at as timestamp) as cutoff_at,
        cast(holdout_weeks as {{ lifecycle.double_type() }}) as holdout_weeks,
        cast(as_of as timestamp) as as_of
    from assembled

)

select * from final
