{#-
    Current lifecycle stage of every person per the SPEC 6 stage table (macro lifecycle_stage)
    from their order summary as of `as_of`. Kept apart from dim_persons so the rules have focused
    unit tests; fct_lifecycle_transitions derives the same stage independently from history.
-#}
with

persons as (

    select * from {{ ref('int_persons_activity_aggregated') }}

),

orders as (

    select * from {{ ref('int_orders_netted') }}
    where not is_fully_refunded and person_id is not null

),

order_summary as (

    select
        person_id,
        count(*) as order_count,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        sum(net_revenue) as net_revenue
    from orders
    group by person_id

),

final as (

    select
        persons.person_id,
        persons.is_lead,
        coalesce(order_summary.order_count, 0) as order_count,
        order_summary.first_order_at,
        order_summary.last_order_at,
        coalesce(order_summary.net_revenue, 0) as net_revenue,
        {{ lifecycle.lifecycle_stage(
            'order_summary.order_count', 'order_summary.last_order_at', 'persons.is_lead', lifecycle_as_of()
        ) }} as lifecycle_stage,
        {{ lifecycle_as_of() }} as as_of
    from persons
    left join order_summary on order_summary.person_id = persons.person_id

)

select * from final
