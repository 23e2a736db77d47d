{#-
    CAC per source, medium and month (SPEC 7): spend / new customers whose first touch is that
    channel and whose first order falls in that month. Spend and customers are joined with a full
    outer join, so spend without customers (CAC NULL) and customers without spend (CAC 0) both show.
    Spend is summed as recorded; all spend is assumed to be in one currency (see DECISIONS.md).
-#}
with

spend as (

    select * from {{ ref('stg_marketing__spend') }}
    where spend_date <= cast({{ lifecycle_as_of() }} as date)

),

persons as (

    select * from {{ ref('dim_persons') }}

),

spend_per_month as (

    select
        cast({{ dbt.date_trunc('month', 'spend_date') }} as date) as month,
        source,
        medium,
        sum(spend) as spend
    from spend
    group by 1, 2, 3

),

customers_per_month as (

    select
        cast({{ dbt.date_trunc('month', 'first_order_at') }} as date) as month,
        coalesce(first_touch_source, 'direct') as source,
        coalesce(first_touch_medium, 'direct') as medium,
        count(*) as new_customers
    from persons
    where first_order_at is not null
    group by 1, 2, 3

),

assembled as (

    select
        coalesce(spend_per_month.month, customers_per_month.month) as month,
        coalesce(spend_per_month.source, customers_per_month.source) as source,
        coalesce(spend_per_month.medium, customers_per_month.medium) as medium,
        coalesce(spend_per_month.spend, 0) as spend,
        coalesce(customers_per_month.new_customers, 0) as new_customers,
        {{ kpi_safe_divide('coalesce(spend_per_month.spend, 0)', 'customers_per_month.new_customers') }} as cac
    from spend_per_month
    full outer join customers_per_month
        on
            spend_per_month.month = customers_per_month.month
            and spend_per_month.source = customers_per_month.source
            and spend_per_month.medium = customers_per_month.medium

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(month as date) as month,
        cast(source as {{ lifecycle.text_type() }}) as source,
        cast(medium as {{ lifecycle.text_type() }}) as medium,
        cast(spend as decimal(18,2)) as spend,
        cast(new_customers as bigint) as new_customers,
        cast(cac as {{ lifecycle.double_type() }}) as cac
    from assembled

)

select * from final
