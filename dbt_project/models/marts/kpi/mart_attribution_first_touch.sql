{#-
    First-touch attribution per month and channel (SPEC 7): new leads (by lead month) and new
    customers with their first-order and lifetime net revenue (by first-order month), credited to
    the person's first touch from dim_persons (UTM campaign or email click; else the referrer class;
    else direct). Campaign is '(none)' when the touch has none, so the key has no NULLs.
-#}
with

persons as (

    select * from {{ ref('dim_persons') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

transitions as (

    select * from {{ ref('fct_lifecycle_transitions') }}

),

person_channels as (

    select
        person_id,
        coalesce(first_touch_source, 'direct') as source,
        coalesce(first_touch_medium, 'direct') as medium,
        coalesce(first_touch_campaign, '(none)') as campaign,
        net_revenue
    from persons

),

lead_entries as (

    select person_id, min(transitioned_at) as lead_at
    from transitions
    where to_stage = 'acquisition'
    group by person_id

),

first_orders as (

    select person_id, ordered_at, net_revenue
    from orders
    where order_number = 1

),

credited as (

    select
        cast({{ dbt.date_trunc('month', 'lead_entries.lead_at') }} as date) as month,
        person_channels.source,
        person_channels.medium,
        person_channels.campaign,
        1 as new_leads,
        0 as new_customers,
        0 as first_order_revenue,
        0 as customer_net_revenue
    from lead_entries
    inner join person_channels on lead_entries.person_id = person_channels.person_id

    union all

    select
        cast({{ dbt.date_trunc('month', 'first_orders.ordered_at') }} as date) as month,
        person_channels.source,
        person_channels.medium,
        person_channels.campaign,
        0 as new_leads,
        1 as new_customers,
        first_orders.net_revenue as first_order_revenue,
        person_channels.net_revenue as customer_net_revenue
    from first_orders
    inner join person_channels on first_orders.person_id = person_channels.person_id

),

assembled as (

    select
        month,
        source,
        medium,
        campaign,
        sum(new_leads) as new_leads,
        sum(new_customers) as new_customers,
        sum(first_order_revenue) as first_order_revenue,
        sum(customer_net_revenue) as customer_net_revenue
    from credited
    group by month, source, medium, campaign

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(month as date) as month,
        cast(source as {{ lifecycle.text_type() }}) as source,
        cast(medium as {{ lifecycle.text_type() }}) as medium,
        cast(campaign as {{ lifecycle.text_type() }}) as campaign,
        cast(new_leads as bigint) as new_leads,
        cast(new_customers as bigint) as new_customers,
        cast(first_order_revenue as decimal(18,2)) as first_order_revenue,
        cast(customer_net_revenue as decimal(18,2)) as customer_net_revenue
    from assembled

)

select * from final
