{#-
    Support KPIs per ISO week (Monday), priority and channel (SPEC 7), from fct_tickets (latest
    version per ticket, deleted left out; times in calendar minutes from ticket_metrics).
    Which week a ticket counts in depends on the measure:
    - created week: tickets_created, first reply median/p90, SLA breach (target by priority from
      var sla_targets_minutes; a ticket without priority is held to the normal target);
    - solved week: tickets_solved, full resolution median/p90, one-touch resolution (exactly one
      public reply), and CSAT = good / (good + bad) (a rated ticket that is not solved counts in its
      created week).
    Priority and channel are '(none)' when Zendesk has none, so the key has no NULLs.
-#}
{%- set sla = var('sla_targets_minutes') -%}

with

tickets as (

    select
        *,
        coalesce(priority, '(none)') as priority_key,
        coalesce(channel, '(none)') as channel_key,
        case coalesce(priority, 'normal')
            {%- for priority, minutes in sla.items() %}
                when '{{ priority }}' then {{ minutes }}
            {%- endfor %}
            else {{ sla['normal'] }}
        end as sla_target_minutes
    from {{ ref('fct_tickets') }}
    where created_at <= {{ lifecycle_as_of() }}

),

created_weekly as (

    select
        cast({{ dbt.date_trunc('week', 'created_at') }} as date) as week_start,
        priority_key as priority,
        channel_key as channel,
        count(*) as tickets_created,
        count(first_reply_minutes) as tickets_with_first_reply,
        sum(case when first_reply_minutes > sla_target_minutes then 1 else 0 end) as sla_breaches,
        percentile_cont(0.5) within group (order by first_reply_minutes) as median_first_reply_minutes,
        percentile_cont(0.9) within group (order by first_reply_minutes) as p90_first_reply_minutes
    from tickets
    group by 1, 2, 3

),

solved_weekly as (

    select
        cast({{ dbt.date_trunc('week', 'solved_at') }} as date) as week_start,
        priority_key as priority,
        channel_key as channel,
        count(*) as tickets_solved,
        sum(case when replies = 1 then 1 else 0 end) as one_touch_solved,
        percentile_cont(0.5) within group (order by full_resolution_minutes)
            as median_full_resolution_minutes,
        percentile_cont(0.9) within group (order by full_resolution_minutes) as p90_full_resolution_minutes
    from tickets
    where solved_at is not null and solved_at <= {{ lifecycle_as_of() }}
    group by 1, 2, 3

),

csat_weekly as (

    select
        cast({{ dbt.date_trunc('week', 'coalesce(solved_at, created_at)') }} as date) as week_start,
        priority_key as priority,
        channel_key as channel,
        sum(case when satisfaction_score = 'good' then 1 else 0 end) as csat_good,
        sum(case when satisfaction_score = 'bad' then 1 else 0 end) as csat_bad
    from tickets
    where satisfaction_score in ('good', 'bad')
    group by 1, 2, 3

),

keys as (

    select week_start, priority, channel from created_weekly
    union
    select week_start, priority, channel from solved_weekly
    union
    select week_start, priority, channel from csat_weekly

),

assembled as (

    select
        keys.week_start,
        keys.priority,
        keys.channel,
        coalesce(created_weekly.tickets_created, 0) as tickets_created,
        coalesce(solved_weekly.tickets_solved, 0) as tickets_solved,
        created_weekly.median_first_reply_minutes,
        created_weekly.p90_first_reply_minutes,
        solved_weekly.median_full_resolution_minutes,
        solved_weekly.p90_full_resolution_minutes,
        coalesce(created_weekly.tickets_with_first_reply, 0) as tickets_with_first_reply,
        coalesce(created_weekly.sla_breaches, 0) as sla_breaches,
        {{ kpi_safe_divide('created_weekly.sla_breaches', 'created_weekly.tickets_with_first_reply') }}
            as sla_breach_rate,
        coalesce(csat_weekly.csat_good, 0) as csat_good,
        coalesce(csat_weekly.csat_bad, 0) as csat_bad,
        {{ kpi_safe_divide('csat_weekly.csat_good', 'csat_weekly.csat_good + csat_weekly.csat_bad') }} as csat,
        coalesce(solved_weekly.one_touch_solved, 0) as one_touch_solved,
        {{ kpi_safe_divide('solved_weekly.one_touch_solved', 'solved_weekly.tickets_solved') }}
            as one_touch_resolution_rate
    from keys
    left join created_weekly
        on
            keys.week_start = created_weekly.week_start
            and keys.priority = created_weekly.priority
            and keys.channel = created_weekly.channel
    left join solved_weekly
        on
            keys.week_start = solved_weekly.week_start
            and keys.priority = solved_weekly.priority
            and keys.channel = solved_weekly.channel
    left join csat_weekly
        on
            keys.week_start = csat_weekly.week_start
            and keys.priority = csat_weekly.priority
            and keys.channel = csat_weekly.channel

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(week_start as date) as week_start,
        cast(priority as {{ lifecycle.text_type() }}) as priority,
        cast(channel as {{ lifecycle.text_type() }}) as channel,
        cast(tickets_created as bigint) as tickets_created,
        cast(tickets_solved as bigint) as tickets_solved,
        cast(median_first_reply_minutes as {{ lifecycle.double_type() }}) as median_first_reply_minutes,
        cast(p90_first_reply_minutes as {{ lifecycle.double_type() }}) as p90_first_reply_minutes,
        cast(median_full_resolution_minutes as {{ lifecycle.double_type() }}) as median_full_resolution_minutes,
        cast(p90_full_resolution_minutes as {{ lifecycle.double_type() }}) as p90_full_resolution_minutes,
        cast(tickets_with_first_reply as bigint) as tickets_with_first_reply,
        cast(sla_breaches as bigint) as sla_breaches,
        cast(sla_breach_rate as {{ lifecycle.double_type() }}) as sla_breach_rate,
        cast(csat_good as bigint) as csat_good,
        cast(csat_bad as bigint) as csat_bad,
        cast(csat as {{ lifecycle.double_type() }}) as csat,
        cast(one_touch_solved as bigint) as one_touch_solved,
        cast(one_touch_resolution_rate as {{ lifecycle.double_type() }}) as one_touch_resolution_rate
    from assembled

)

select * from final
