{#-
    Lead-to-customer conversion by lead month (SPEC 7): of the persons who entered acquisition in
    the month, how many placed a first order by as_of, and within lead_conversion_window_days (30).
    Every month from the first lead to as_of has a row; a month without leads has NULL rates.
-#}
with

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
    group by person_id

),

first_orders as (

    select person_id, ordered_at as first_order_at
    from orders
    where order_number = 1

),

leads as (

    select
        lead_entries.person_id,
        cast({{ dbt.date_trunc('month', 'lead_entries.lead_at') }} as date) as lead_month,
        first_orders.first_order_at,
        {{ lifecycle.seconds_between('lead_entries.lead_at', 'first_orders.first_order_at') }} / 86400.0
            as days_to_convert,
        first_orders.first_order_at is not null
        and first_orders.first_order_at
        <= {{ dbt.dateadd('day', var('lead_conversion_window_days'), 'lead_entries.lead_at') }}
            as converted_within_window
    from lead_entries
    left join first_orders on lead_entries.person_id = first_orders.person_id

),

months as (

    select distinct cast({{ dbt.date_trunc('month', 'day') }} as date) as lead_month
    from (
        {{ kpi_day_spine('(select min(lead_at) from lead_entries)', '(' ~ lifecycle_as_of() ~ ')') }}
    ) as days

),

per_month as (

    select
        lead_month,
        count(*) as leads,
        count(first_order_at) as converted_leads,
        sum(case when converted_within_window then 1 else 0 end) as converted_within_window,
        percentile_cont(0.5) within group (order by days_to_convert) as median_days_to_convert
    from leads
    group by lead_month

),

assembled as (

    select
        months.lead_month,
        coalesce(per_month.leads, 0) as leads,
        coalesce(per_month.converted_leads, 0) as converted_leads,
        coalesce(per_month.converted_within_window, 0) as converted_within_window,
        {{ kpi_safe_divide('per_month.converted_leads', 'per_month.leads') }} as lead_to_customer_rate,
        {{ kpi_safe_divide('per_month.converted_within_window', 'per_month.leads') }}
            as lead_to_customer_rate_window,
        per_month.median_days_to_convert
    from months
    left join per_month on months.lead_month = per_month.lead_month

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(lead_month as date) as lead_month,
        cast(leads as bigint) as leads,
        cast(converted_leads as bigint) as converted_leads,
        cast(converted_within_window as bigint) as converted_within_window,
        cast(lead_to_customer_rate as {{ lifecycle.double_type() }}) as lead_to_customer_rate,
        cast(lead_to_customer_rate_window as {{ lifecycle.double_type() }}) as lead_to_customer_rate_window,
        cast(median_days_to_convert as {{ lifecycle.double_type() }}) as median_days_to_convert
    from assembled

)

select * from final
