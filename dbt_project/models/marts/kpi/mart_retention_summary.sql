{#-
    Repeat purchase and churn rates per month (SPEC 7), one row per month from the first order to
    as_of:
    - repeat_purchase_rate = customers with 2+ orders / customers, both counted up to the end of the
      month (up to as_of for the current month);
    - churn_rate = persons entering churned in the month / customers not churned at the start of
      the month, read from the stage history (fct_lifecycle_transitions), so reactivated customers
      count as customers again.
-#}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

transitions as (

    select * from {{ ref('fct_lifecycle_transitions') }}

),

as_of as (

    select {{ lifecycle_as_of() }} as as_of

),

months as (

    select distinct cast({{ dbt.date_trunc('month', 'day') }} as date) as month
    from (
        {{ kpi_day_spine('(select min(ordered_at) from orders)', '(select as_of from as_of)') }}
    ) as days

),

customer_milestones as (

    select
        person_id,
        min(case when order_number = 1 then ordered_at end) as first_order_at,
        min(case when order_number = 2 then ordered_at end) as second_order_at
    from orders
    group by person_id

),

-- Each stage spell [entered_at, left_at) of a person, from the stage history.
stage_spells as (

    select
        person_id,
        to_stage as stage,
        transitioned_at as entered_at,
        lead(transitioned_at) over (partition by person_id order by transition_number) as left_at
    from transitions

),

customers_at_month_start as (

    select months.month, count(distinct stage_spells.person_id) as customers_at_start
    from months
    inner join stage_spells
        on
            stage_spells.entered_at <= cast(months.month as timestamp)
            and (stage_spells.left_at is null or stage_spells.left_at > cast(months.month as timestamp))
    where stage_spells.stage in ('conversion', 'retention', 'loyalty', 'at_risk')
    group by months.month

),

churned_in_month as (

    select
        cast({{ dbt.date_trunc('month', 'transitioned_at') }} as date) as month,
        count(*) as churned
    from transitions
    where to_stage = 'churned'
    group by cast({{ dbt.date_trunc('month', 'transitioned_at') }} as date)

),

-- Customers and repeat customers as of the end of each month.
customers_by_month as (

    select
        months.month,
        count(customer_milestones.person_id) as customers
    from months
    left join customer_milestones
        on customer_milestones.first_order_at < cast({{ dbt.dateadd('month', 1, 'months.month') }} as timestamp)
    group by months.month

),

repeat_by_month as (

    select
        months.month,
        count(customer_milestones.person_id) as repeat_customers
    from months
    left join customer_milestones
        on customer_milestones.second_order_at < cast({{ dbt.dateadd('month', 1, 'months.month') }} as timestamp)
    group by months.month

),

assembled as (

    select
        months.month,
        coalesce(customers_by_month.customers, 0) as customers,
        coalesce(repeat_by_month.repeat_customers, 0) as repeat_customers,
        {{ kpi_safe_divide('repeat_by_month.repeat_customers', 'customers_by_month.customers') }}
            as repeat_purchase_rate,
        coalesce(customers_at_month_start.customers_at_start, 0) as customers_at_start,
        coalesce(churned_in_month.churned, 0) as churned,
        {{ kpi_safe_divide('coalesce(churned_in_month.churned, 0)', 'customers_at_month_start.customers_at_start') }}
            as churn_rate
    from months
    left join customers_by_month on months.month = customers_by_month.month
    left join repeat_by_month on months.month = repeat_by_month.month
    left join customers_at_month_start on months.month = customers_at_month_start.month
    left join churned_in_month on months.month = churned_in_month.month

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(month as date) as month,
        cast(customers as bigint) as customers,
        cast(repeat_customers as bigint) as repeat_customers,
        cast(repeat_purchase_rate as {{ lifecycle.double_type() }}) as repeat_purchase_rate,
        cast(customers_at_start as bigint) as customers_at_start,
        cast(churned as bigint) as churned,
        cast(churn_rate as {{ lifecycle.double_type() }}) as churn_rate
    from assembled

)

select * from final
