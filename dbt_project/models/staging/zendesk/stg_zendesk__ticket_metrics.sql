-- Latest metrics record per ticket (calendar minutes, as SPEC 7 Support asks).
with

source as (

    select * from {{ source('zendesk', 'zendesk_ticket_metrics') }}

),

latest_version as (

    {% call lifecycle.distinct_on('ticket_id', '*', 'updated_at desc nulls last, _loaded_at desc, _file desc, _line desc') %}
    from source
    {% endcall %}

),

final as (

    select
        id as ticket_metric_id,
        ticket_id,
        created_at,
        updated_at,
        solved_at,
        replies,
        reply_time_calendar_minutes as first_reply_minutes,
        first_resolution_time_calendar_minutes as first_resolution_minutes,
        full_resolution_time_calendar_minutes as full_resolution_minutes,
        _loaded_at

    from latest_version

)

select * from final
