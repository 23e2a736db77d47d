{#-
    Typed, de-duplicated SendGrid events. Incremental like the web events (append + anti-join on
    the de-duplication key, rows loaded after the newest `_loaded_at` already here). The key is
    (sg_event_id, event): raw keeps that pair unique, and a repeated sg_event_id with another event
    name is a different event.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
    )
}}

with

source as (

    select * from {{ source('sendgrid', 'sendgrid_events') }}
    {% if is_incremental() %}
    where _loaded_at > {{ lifecycle.loaded_since() }}
    {% endif %}

),

-- The first load of an event wins (a window, not DISTINCT ON: see stg_segment__events).
numbered as (

    select
        *,
        row_number() over (
            partition by sg_event_id, lower(event) order by _loaded_at, _file, _line
        ) as load_rank
    from source

),

deduplicated as (

    select * from numbered where load_rank = 1

),

{% if is_incremental() %}
new_events as (

    select deduplicated.*
    from deduplicated
    where not exists (
        select 1
        from {{ this }} as existing
        where existing.sg_event_id = deduplicated.sg_event_id
            and existing.event = lower(deduplicated.event)
    )

),
{% else %}
new_events as (

    select * from deduplicated

),
{% endif %}

renamed as (

    select
        sg_event_id,
        lower(event) as event,
        {{ lifecycle.normalize_email('email') }} as email,
        lower(trim(email)) as raw_email,
        ts as event_at,
        sg_message_id,
        lower(bounce_type) as bounce_type,
        nullif(trim(marketing_campaign_id), '') as campaign_id,
        coalesce(
            nullif(trim(marketing_campaign_name), ''),
            nullif(trim({{ lifecycle.json_first_text('category') }}), '')
        ) as campaign_name,
        url,
        asm_group_id,
        _file,
        _line,
        _loaded_at

    from new_events

),

final as (

    select * from renamed

)

select * from final
