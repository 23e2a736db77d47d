-- Latest version of each ticket (SPEC 4.3: a ticket appears again each time it changes).
with

source as (

    select * from {{ source('zendesk', 'zendesk_tickets') }}

),

latest_version as (

    {% call lifecycle.distinct_on('id', '*', 'updated_at desc, _loaded_at desc, _file desc, _line desc') %}
    from source
    {% endcall %}

),

renamed as (

    select
        id as ticket_id,
        requester_id,
        cast(requester_id as {{ lifecycle.text_type() }}) as requester_key,
        lower(status) as status,
        lower(priority) as priority,
        lower(coalesce(via_channel, {{ lifecycle.json_text('record', '$.via.channel') }})) as channel,
        subject,
        lower(ticket_type) as ticket_type,
        created_at,
        updated_at,
        lower(satisfaction_score) as satisfaction_score,
        _loaded_at

    from (
        select
            *,
            {{ lifecycle.json_text('record', '$.type') }} as ticket_type
        from latest_version
    ) as with_type

),

final as (

    select * from renamed

)

select * from final
