{#-
    Cohort retention matrix (SPEC 7): cohort = month of first order; retention(cohort, m) = share of
    the cohort with an order in month cohort + m. One row per cohort and month from the cohort month
    to the month of as_of (that last month is partial: is_partial_month).
-#}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

as_of as (

    select {{ lifecycle_as_of() }} as as_of

),

customer_cohorts as (

    select person_id, cast({{ dbt.date_trunc('month', 'min(ordered_at)') }} as date) as cohort_month
    from orders
    group by person_id

),

cohort_sizes as (

    select cohort_month, count(*) as cohort_size
    from customer_cohorts
    group by cohort_month

),

months as (

    select distinct cast({{ dbt.date_trunc('month', 'day') }} as date) as activity_month
    from (
        {{ kpi_day_spine('(select min(ordered_at) from orders)', '(select as_of from as_of)') }}
    ) as days

),

active_months as (

    select distinct
        person_id,
        cast({{ dbt.date_trunc('month', 'ordered_at') }} as date) as activity_month
    from orders

),

active_per_cohort_month as (

    select
        customer_cohorts.cohort_month,
        active_months.activity_month,
        count(*) as active_customers
    from active_months
    inner join customer_cohorts on active_months.person_id = customer_cohorts.person_id
    group by customer_cohorts.cohort_month, active_months.activity_month

),

assembled as (

    select
        cohort_sizes.cohort_month,
        {{ dbt.datediff('cohort_sizes.cohort_month', 'months.activity_month', 'month') }}
            as months_since_first_order,
        months.activity_month,
        cohort_sizes.cohort_size,
        coalesce(active_per_cohort_month.active_customers, 0) as active_customers,
        {{ kpi_safe_divide('coalesce(active_per_cohort_month.active_customers, 0)', 'cohort_sizes.cohort_size') }}
            as retention_rate,
        months.activity_month = cast({{ dbt.date_trunc('month', 'as_of.as_of') }} as date) as is_partial_month
    from cohort_sizes
    cross join as_of
    inner join months on cohort_sizes.cohort_month <= months.activity_month
    left join active_per_cohort_month
        on
            cohort_sizes.cohort_month = active_per_cohort_month.cohort_month
            and months.activity_month = active_per_cohort_month.activity_month

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(cohort_month as date) as cohort_month,
        cast(months_since_first_order as bigint) as months_since_first_order,
        cast(activity_month as date) as activity_month,
        cast(cohort_size as bigint) as cohort_size,
        cast(active_customers as bigint) as active_customers,
        cast(retention_rate as {{ lifecycle.double_type() }}) as retention_rate,
        cast(is_partial_month as boolean) as is_partial_month
    from assembled

)

select * from final
