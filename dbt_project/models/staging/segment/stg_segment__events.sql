{#-
    Typed, de-duplicated Segment messages. Incremental because web history is the largest table:
    a run reads only raw rows loaded since the last build (minus a lookback for late commits) and
    appends those whose message_id is not already here (anti-join, never a primary key), so
    re-runs are idempotent and the incremental build equals a full refresh.
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

    select * from {{ source('segment', 'segment_events') }}
    {% if is_incremental() %}
    where _loaded_at > (
        select {{ dbt.dateadd('hour', -1 * var('incremental_lookback_hours', 72), "coalesce(max(_loaded_at), cast('1970-01-01' as timestamp))") }}
        from {{ this }}
    )
    {% endif %}

),

deduplicated as (

    select distinct on (message_id) *
    from source
    order by message_id, _loaded_at, _file, _line

),

{% if is_incremental() %}
new_messages as (

    select deduplicated.*
    from deduplicated
    where not exists (
        select 1 from {{ this }} as existing where existing.message_id = deduplicated.message_id
    )

),
{% else %}
new_messages as (

    select * from deduplicated

),
{% endif %}

renamed as (

    select
        message_id,
        case when lower(type) = 'screen' then 'page' else lower(type) end as type,
        lower(type) as original_type,
        nullif(trim(event), '') as event,
        {{ lifecycle.clean_identifier('anonymous_id') }} as anonymous_id,
        {{ lifecycle.clean_identifier('user_id') }} as user_id,
        {{ lifecycle.clean_identifier('previous_id') }} as previous_id,
        ts as event_at,

        {{ lifecycle.normalize_email(
            'coalesce(' ~ lifecycle.json_text('message', '$.traits.email') ~ ', '
            ~ lifecycle.json_text('message', '$.context.traits.email') ~ ', '
            ~ lifecycle.json_text('message', '$.properties.email') ~ ')'
        ) }} as email,
        nullif(trim(coalesce(
            {{ lifecycle.json_text('message', '$.traits.name') }},
            {{ lifecycle.json_text('message', '$.context.traits.name') }}
        )), '') as name,
        nullif(trim(coalesce(
            {{ lifecycle.json_text('message', '$.traits.phone') }},
            {{ lifecycle.json_text('message', '$.context.traits.phone') }}
        )), '') as phone,

        nullif(trim({{ lifecycle.json_text('message', '$.context.campaign.source') }}), '') as utm_source,
        nullif(trim({{ lifecycle.json_text('message', '$.context.campaign.medium') }}), '') as utm_medium,
        nullif(trim({{ lifecycle.json_text('message', '$.context.campaign.name') }}), '') as utm_campaign,
        nullif(trim({{ lifecycle.json_text('message', '$.context.campaign.term') }}), '') as utm_term,
        nullif(trim({{ lifecycle.json_text('message', '$.context.campaign.content') }}), '') as utm_content,

        coalesce(
            {{ lifecycle.json_text('message', '$.context.page.url') }},
            {{ lifecycle.json_text('message', '$.properties.url') }}
        ) as page_url,
        coalesce(
            {{ lifecycle.json_text('message', '$.context.page.path') }},
            {{ lifecycle.json_text('message', '$.properties.path') }}
        ) as page_path,
        nullif(trim(coalesce(
            {{ lifecycle.json_text('message', '$.context.page.referrer') }},
            {{ lifecycle.json_text('message', '$.properties.referrer') }}
        )), '') as referrer,
        coalesce(
            {{ lifecycle.json_text('message', '$.context.page.title') }},
            {{ lifecycle.json_text('message', '$.properties.title') }}
        ) as page_title,

        nullif(trim({{ lifecycle.json_text('message', '$.properties.order_id') }}), '') as order_id,
        {{ lifecycle.try_cast(
            'coalesce(' ~ lifecycle.json_text('message', '$.properties.total') ~ ', '
            ~ lifecycle.json_text('message', '$.properties.revenue') ~ ')',
            'decimal(18, 2)'
        ) }} as order_total,
        upper(nullif(trim({{ lifecycle.json_text('message', '$.properties.currency') }}), '')) as currency,
        nullif(trim({{ lifecycle.json_text('message', '$.properties.product_id') }}), '') as product_id,
        nullif(trim({{ lifecycle.json_text('message', '$.properties.sku') }}), '') as product_sku,
        {{ lifecycle.json_value('message', '$.properties.products') }} as products,

        message,
        _file,
        _line,
        _loaded_at

    from new_messages

),

final as (

    select * from renamed

)

select * from final
