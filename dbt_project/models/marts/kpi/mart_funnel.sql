{#-
    Funnel per period (SPEC 7): visitors, new leads, new customers and days to convert, at three
    grains in one table (period_grain = day | week | month; weeks start on Monday, ISO; macros
    kpi_period_spine and kpi_per_period). Every period from the first activity to as_of has a row,
    zeros included.
-#}
with

-- The active days of each identity_key first, then of each person: fct_web_events holds the same
-- messages, but joining each of them to its person took 1.7 s of each daily build at 100,000
-- persons (docs/scaling.md).
identity_days as (

    select distinct identity_key, cast(event_at as date) as day
    from {{ ref('int_web_events_classified') }}
    where event_at <= {{ lifecycle_as_of() }}

),

web_identities as (

    select identity_key, person_id from {{ ref('int_web_identities_resolved') }}
    where person_id is not null

),

transitions as (

    select * from {{ ref('fct_lifecycle_transitions') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

lead_entries as (

    select person_id, min(transitioned_at) as lead_at
    from transitions
    where to_stage = 'acquisition'
    group by 1

),

first_orders as (

    select
        orders.person_id,
        orders.ordered_at as first_order_at,
        {{ lifecycle.seconds_between('lead_entries.lead_at', 'orders.ordered_at') }} / 86400.0 as days_to_convert
    from orders
    left join lead_entries on orders.person_id = lead_entries.person_id
    where orders.order_number = 1

),

-- One row per person and active day: the only pass over the web events; weeks and months roll up
-- from it (a distinct count cannot be summed, but it can be re-counted from these pairs).
person_days as (

    select distinct web_identities.person_id, identity_days.day
    from identity_days
    inner join web_identities on web_identities.identity_key = identity_days.identity_key

),

activity_bounds as (

    select min(activity_at) as first_activity_at
    from (
        select cast(min(day) as timestamp) as activity_at from person_days
        union all
        select min(lead_at) from lead_entries
        union all
        select min(first_order_at) from first_orders
    ) as firsts

),

periods as (

    {{ kpi_period_spine('(select first_activity_at from activity_bounds)', '(' ~ lifecycle_as_of() ~ ')') }}

),

visitors as (

    {% call(grain) kpi_per_period('person_days', 'day') %}
        {#- person_days rows are already distinct per day: only weeks and months need a distinct count. #}
        {% if grain == 'day' %}count(*){% else %}count(distinct person_id){% endif %} as visitors
    {% endcall %}

),

new_leads as (

    {% call(grain) kpi_per_period('lead_entries', 'lead_at') %}
        count(*) as new_leads
    {% endcall %}

),

new_customers as (

    {% call(grain) kpi_per_period('first_orders', 'first_order_at') %}
        count(*) as new_customers,
        count(days_to_convert) as converted_leads,
        percentile_cont(0.5) within group (order by days_to_convert) as median_days_to_convert
    {% endcall %}

),

assembled as (

    select
        periods.period_grain,
        periods.period_start,
        coalesce(visitors.visitors, 0) as visitors,
        coalesce(new_leads.new_leads, 0) as new_leads,
        coalesce(new_customers.new_customers, 0) as new_customers,
        coalesce(new_customers.converted_leads, 0) as converted_leads,
        new_customers.median_days_to_convert
    from periods
    left join visitors
        on periods.period_grain = visitors.period_grain and periods.period_start = visitors.period_start
    left join new_leads
        on periods.period_grain = new_leads.period_grain and periods.period_start = new_leads.period_start
    left join new_customers
        on
            periods.period_grain = new_customers.period_grain
            and periods.period_start = new_customers.period_start

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(period_grain as {{ lifecycle.text_type() }}) as period_grain,
        cast(period_start as date) as period_start,
        cast(visitors as bigint) as visitors,
        cast(new_leads as bigint) as new_leads,
        cast(new_customers as bigint) as new_customers,
        cast(converted_leads as bigint) as converted_leads,
        cast(median_days_to_convert as {{ lifecycle.double_type() }}) as median_days_to_convert
    from assembled

)

select * from final
