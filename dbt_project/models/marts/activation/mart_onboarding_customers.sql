{#-
    SPEC 8 onboarding: customers whose first order is in the last onboarding_days (14) before
    as_of: first_order_at in (as_of - onboarding_days, as_of]. days_since_first_order counts calendar
    days (0 on the day of the first order).
-#}
with

persons as (

    select * from {{ ref('dim_persons') }}

),

as_of as (

    select {{ lifecycle_as_of() }} as as_of

),

assembled as (

    select
        persons.person_id,
        persons.email,
        persons.name,
        persons.first_order_at,
        {{ dbt.datediff('persons.first_order_at', 'as_of.as_of', 'day') }} as days_since_first_order,
        persons.order_count,
        persons.net_revenue,
        as_of.as_of
    from persons
    cross join as_of
    where
        persons.first_order_at is not null
        and persons.first_order_at <= as_of.as_of
        and persons.first_order_at > {{ dbt.dateadd('day', -1 * var('onboarding_days'), 'as_of.as_of') }}

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(person_id as {{ lifecycle.text_type() }}) as person_id,
        cast(email as {{ lifecycle.text_type() }}) as email,
        cast(name as {{ lifecycle.text_type() }}) as name,
        cast(first_order_at as timestamp) as first_order_at,
        cast(days_since_first_order as bigint) as days_since_first_order,
        cast(order_count as bigint) as order_count,
        cast(net_revenue as decimal(18,2)) as net_revenue,
        cast(as_of as timestamp) as as_of
    from assembled

)

select * from final
