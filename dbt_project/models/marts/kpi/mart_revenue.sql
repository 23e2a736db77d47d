{#-
    Revenue per period (SPEC 7) at three grains in one table (period_grain = day | week | month):
    orders, gross, refunds and net revenue, AOV = net revenue / orders, and new (first orders) vs
    returning (later orders) revenue. Refunds count against the period of the order they refund,
    so a period's numbers only change when a late refund arrives. Every period from the first order
    to as_of has a row (AOV NULL when there are no orders). Periods: macros kpi_period_spine and
    kpi_per_period.
-#}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

periods as (

    {{ kpi_period_spine('(select min(ordered_at) from orders)', '(' ~ lifecycle_as_of() ~ ')') }}

),

per_period as (

    {% call(grain) kpi_per_period('orders', 'ordered_at') %}
        count(*) as orders,
        sum(case when order_number = 1 then 1 else 0 end) as new_customer_orders,
        sum(gross_total) as gross_revenue,
        sum(refunded_amount) as refunds,
        sum(net_revenue) as net_revenue,
        sum(case when order_number = 1 then net_revenue else 0 end) as new_revenue,
        sum(case when order_number > 1 then net_revenue else 0 end) as returning_revenue
    {% endcall %}

),

assembled as (

    select
        periods.period_grain,
        periods.period_start,
        coalesce(per_period.orders, 0) as orders,
        coalesce(per_period.new_customer_orders, 0) as new_customer_orders,
        coalesce(per_period.orders, 0) - coalesce(per_period.new_customer_orders, 0) as returning_orders,
        coalesce(per_period.gross_revenue, 0) as gross_revenue,
        coalesce(per_period.refunds, 0) as refunds,
        coalesce(per_period.net_revenue, 0) as net_revenue,
        {{ kpi_safe_divide('per_period.net_revenue', 'per_period.orders') }} as aov,
        coalesce(per_period.new_revenue, 0) as new_revenue,
        coalesce(per_period.returning_revenue, 0) as returning_revenue
    from periods
    left join per_period
        on
            periods.period_grain = per_period.period_grain
            and periods.period_start = per_period.period_start

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(period_grain as {{ lifecycle.text_type() }}) as period_grain,
        cast(period_start as date) as period_start,
        cast(orders as bigint) as orders,
        cast(new_customer_orders as bigint) as new_customer_orders,
        cast(returning_orders as bigint) as returning_orders,
        cast(gross_revenue as decimal(18,2)) as gross_revenue,
        cast(refunds as decimal(18,2)) as refunds,
        cast(net_revenue as decimal(18,2)) as net_revenue,
        cast(aov as {{ lifecycle.double_type() }}) as aov,
        cast(new_revenue as decimal(18,2)) as new_revenue,
        cast(returning_revenue as decimal(18,2)) as returning_revenue
    from assembled

)

select * from final
