{#-
    Measured lift of each holdout segment (SPEC 11), per segment and entry cohort (var
    lift_cohort_grain, default month) plus one `all` row per segment. A person enters when a sync
    first exported or held them out (stg_sync__holdout_assignments.assigned_at); they count once
    their window (var lift_window_days, default 30) has closed by as_of. Outcomes are orders
    (fct_orders: completed, not fully refunded) strictly after entry and within the window.
    The estimator is in _segment_lift__models.yml and in the glossary.

    A view, so the report written right after a sync already sees that sync's assignments.
-#}
{{ config(materialized='view') }}

with

assignments as (

    select * from {{ ref('stg_sync__holdout_assignments') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

as_of as (

    select {{ lifecycle_as_of() }} as as_of

),

entries as (

    select
        assignments.segment,
        assignments.person_id,
        assignments.assigned_group,
        assignments.assigned_at,
        cast({{ dbt.date_trunc(var('lift_cohort_grain'), 'assignments.assigned_at') }} as date) as cohort_start,
        {{ dbt.dateadd('day', var('lift_window_days'), 'assignments.assigned_at') }} as window_end,
        case
            when {{ dbt.dateadd('day', var('lift_window_days'), 'assignments.assigned_at') }} <= as_of.as_of
                then 1
            else 0
        end as is_measured
    from assignments
    cross join as_of

),

outcomes as (

    select
        entries.segment,
        entries.person_id,
        entries.assigned_group,
        entries.cohort_start,
        entries.is_measured,
        count(orders.order_id) as orders_in_window,
        coalesce(sum(orders.net_revenue), 0) as revenue_in_window
    from entries
    left join orders
        on orders.person_id = entries.person_id
        and orders.ordered_at > entries.assigned_at
        and orders.ordered_at <= entries.window_end
    group by
        entries.segment,
        entries.person_id,
        entries.assigned_group,
        entries.cohort_start,
        entries.is_measured

),

cohorted as (

    select
        segment,
        '{{ var("lift_cohort_grain") }}' as cohort_grain,
        cohort_start,
        assigned_group,
        is_measured,
        orders_in_window,
        revenue_in_window
    from outcomes

    union all

    select
        segment,
        'all' as cohort_grain,
        min(cohort_start) over (partition by segment) as cohort_start,
        assigned_group,
        is_measured,
        orders_in_window,
        revenue_in_window
    from outcomes

),

by_group as (

    select
        segment,
        cohort_grain,
        cohort_start,
        assigned_group,
        sum(is_measured) as persons,
        sum(1 - is_measured) as pending,
        sum(case when is_measured = 1 and orders_in_window > 0 then 1 else 0 end) as conversions,
        sum(case when is_measured = 1 then orders_in_window else 0 end) as orders,
        avg(case when is_measured = 1 then cast(revenue_in_window as {{ lifecycle.double_type() }}) end) as revenue_mean,
        var_samp(case when is_measured = 1 then cast(revenue_in_window as {{ lifecycle.double_type() }}) end) as revenue_var
    from cohorted
    group by segment, cohort_grain, cohort_start, assigned_group

),

both_groups as (

    select
        segment,
        cohort_grain,
        cohort_start,
        coalesce(max(case when assigned_group = 'treated' then persons end), 0) as treated_persons,
        coalesce(max(case when assigned_group = 'holdout' then persons end), 0) as holdout_persons,
        coalesce(max(case when assigned_group = 'treated' then pending end), 0) as treated_pending,
        coalesce(max(case when assigned_group = 'holdout' then pending end), 0) as holdout_pending,
        coalesce(max(case when assigned_group = 'treated' then conversions end), 0) as treated_conversions,
        coalesce(max(case when assigned_group = 'holdout' then conversions end), 0) as holdout_conversions,
        coalesce(max(case when assigned_group = 'treated' then orders end), 0) as treated_orders,
        coalesce(max(case when assigned_group = 'holdout' then orders end), 0) as holdout_orders,
        max(case when assigned_group = 'treated' then revenue_mean end) as treated_revenue_per_person,
        max(case when assigned_group = 'holdout' then revenue_mean end) as holdout_revenue_per_person,
        max(case when assigned_group = 'treated' then revenue_var end) as treated_revenue_var,
        max(case when assigned_group = 'holdout' then revenue_var end) as holdout_revenue_var
    from by_group
    group by segment, cohort_grain, cohort_start

),

rates as (

    select
        both_groups.*,
        {{ kpi_safe_divide('treated_conversions', 'treated_persons') }} as treated_conversion_rate,
        {{ kpi_safe_divide('holdout_conversions', 'holdout_persons') }} as holdout_conversion_rate,
        {{ kpi_safe_divide('treated_orders', 'treated_persons') }} as treated_orders_per_person,
        {{ kpi_safe_divide('holdout_orders', 'holdout_persons') }} as holdout_orders_per_person,
        -- Welch: squared standard errors of each group's mean revenue per person
        treated_revenue_var / nullif(treated_persons, 0) as treated_revenue_se2,
        holdout_revenue_var / nullif(holdout_persons, 0) as holdout_revenue_se2
    from both_groups

),

differences as (

    select
        rates.*,
        treated_conversion_rate - holdout_conversion_rate as conversion_lift,
        -- unpooled two-proportion (Wald) standard error
        sqrt(
            treated_conversion_rate * (1 - treated_conversion_rate) / nullif(treated_persons, 0)
            + holdout_conversion_rate * (1 - holdout_conversion_rate) / nullif(holdout_persons, 0)
        ) as conversion_lift_se,
        treated_revenue_per_person - holdout_revenue_per_person as revenue_lift,
        sqrt(treated_revenue_se2 + holdout_revenue_se2) as revenue_lift_se,
        -- Welch-Satterthwaite degrees of freedom
        power(treated_revenue_se2 + holdout_revenue_se2, 2) / nullif(
            power(treated_revenue_se2, 2) / nullif(treated_persons - 1, 0)
            + power(holdout_revenue_se2, 2) / nullif(holdout_persons - 1, 0),
            0
        ) as revenue_lift_df,
        case
            when treated_persons >= {{ var('lift_min_group_size') }}
                and holdout_persons >= {{ var('lift_min_group_size') }}
                then true
            else false
        end as enough_data
    from rates

),

intervals as (

    select
        differences.*,
        conversion_lift - 1.959964 * conversion_lift_se as conversion_lift_ci_low,
        conversion_lift + 1.959964 * conversion_lift_se as conversion_lift_ci_high,
        -- t(0.975, df) by the Cornish-Fisher expansion around z = 1.959964 (below the exact value
        -- by < 0.003 for df >= 5, < 0.0002 for df >= 10); z when both variances are 0 (df undefined)
        1.959964
            + coalesce(
                2.372271 / revenue_lift_df
                + 2.822499 / power(revenue_lift_df, 2)
                + 2.555850 / power(revenue_lift_df, 3),
                0
            ) as revenue_t_critical
    from differences

),

final as (

    select
        segment,
        cohort_grain,
        cohort_start,
        cast({{ var('lift_window_days') }} as integer) as lift_window_days,
        cast(treated_persons as bigint) as treated_persons,
        cast(holdout_persons as bigint) as holdout_persons,
        cast(treated_pending as bigint) as treated_pending,
        cast(holdout_pending as bigint) as holdout_pending,
        cast(treated_conversions as bigint) as treated_conversions,
        cast(holdout_conversions as bigint) as holdout_conversions,
        cast(treated_conversion_rate as {{ lifecycle.double_type() }}) as treated_conversion_rate,
        cast(holdout_conversion_rate as {{ lifecycle.double_type() }}) as holdout_conversion_rate,
        cast(conversion_lift as {{ lifecycle.double_type() }}) as conversion_lift,
        cast(conversion_lift_ci_low as {{ lifecycle.double_type() }}) as conversion_lift_ci_low,
        cast(conversion_lift_ci_high as {{ lifecycle.double_type() }}) as conversion_lift_ci_high,
        coalesce(enough_data and (conversion_lift_ci_low > 0 or conversion_lift_ci_high < 0), false)
            as conversion_lift_significant,
        cast(treated_orders_per_person as {{ lifecycle.double_type() }}) as treated_orders_per_person,
        cast(holdout_orders_per_person as {{ lifecycle.double_type() }}) as holdout_orders_per_person,
        cast(treated_revenue_per_person as {{ lifecycle.double_type() }}) as treated_revenue_per_person,
        cast(holdout_revenue_per_person as {{ lifecycle.double_type() }}) as holdout_revenue_per_person,
        cast(revenue_lift as {{ lifecycle.double_type() }}) as revenue_lift,
        cast(revenue_lift - revenue_t_critical * revenue_lift_se as {{ lifecycle.double_type() }}) as revenue_lift_ci_low,
        cast(revenue_lift + revenue_t_critical * revenue_lift_se as {{ lifecycle.double_type() }}) as revenue_lift_ci_high,
        coalesce(
            enough_data
            and (revenue_lift - revenue_t_critical * revenue_lift_se > 0
                or revenue_lift + revenue_t_critical * revenue_lift_se < 0),
            false
        ) as revenue_lift_significant,
        enough_data
    from intervals

)

select * from final
