{#-
    Support backlog per day (SPEC 7): tickets created by the end of the day and not solved by then.
    One row per day from the first ticket to as_of. The range join (tickets x days they were open)
    costs tickets x average days open, small next to the event tables.
-#}
with

tickets as (

    select * from {{ ref('fct_tickets') }}
    where created_at <= {{ lifecycle_as_of() }}

),

days as (

    {{ kpi_day_spine('(select min(created_at) from tickets)', '(' ~ lifecycle_as_of() ~ ')') }}

),

open_ticket_days as (

    select
        days.day,
        tickets.ticket_id,
        tickets.priority
    from days
    inner join tickets
        on
            tickets.created_at < cast({{ dbt.dateadd('day', 1, 'days.day') }} as timestamp)
            and (
                tickets.solved_at is null
                or tickets.solved_at >= cast({{ dbt.dateadd('day', 1, 'days.day') }} as timestamp)
            )

),

per_day as (

    select
        day,
        count(*) as backlog,
        sum(case when priority in ('high', 'urgent') then 1 else 0 end) as backlog_high_urgent
    from open_ticket_days
    group by day

),

assembled as (

    select
        days.day,
        coalesce(per_day.backlog, 0) as backlog,
        coalesce(per_day.backlog_high_urgent, 0) as backlog_high_urgent
    from days
    left join per_day on days.day = per_day.day

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(day as date) as day,
        cast(backlog as bigint) as backlog,
        cast(backlog_high_urgent as bigint) as backlog_high_urgent
    from assembled

)

select * from final
