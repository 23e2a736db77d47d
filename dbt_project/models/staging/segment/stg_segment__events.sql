{#-
    Typed, de-duplicated Segment messages. Incremental because web history is the largest table:
    a run reads only raw rows loaded after the newest `_loaded_at` already here (minus
    var('incremental_lookback_minutes'), 0 by default: ingest commits under the writer lock, so no
    commit can land behind a build) and appends those whose message_id is not already here
    (anti-join, never a primary key), so re-runs are idempotent and the incremental build equals a
    full refresh. Every JSON field is extracted from one parse of `message` (macro json_texts).
    The message itself stays in raw only: no model reads it from here, and a copy of every message
    of the year would double what the warehouse stores and what an erasure rewrites.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
    )
}}

{%- set json_paths = [
    '$.traits.email', '$.context.traits.email', '$.properties.email',
    '$.traits.name', '$.context.traits.name',
    '$.traits.first_name', '$.context.traits.first_name',
    '$.traits.last_name', '$.context.traits.last_name',
    '$.traits.phone', '$.context.traits.phone',
    '$.context.campaign.source', '$.context.campaign.medium', '$.context.campaign.name',
    '$.context.campaign.term', '$.context.campaign.content',
    '$.context.page.url', '$.properties.url',
    '$.context.page.path', '$.properties.path',
    '$.context.page.referrer', '$.properties.referrer',
    '$.context.page.title', '$.properties.title',
    '$.properties.order_id', '$.properties.total', '$.properties.revenue', '$.properties.currency',
    '$.properties.product_id', '$.properties.sku',
] %}

with

source as (

    select * from {{ source('segment', 'segment_events') }}
    {% if is_incremental() %}
    where _loaded_at > {{ lifecycle.loaded_since() }}
    {% endif %}

),

-- The first load of a message wins. A window, not DISTINCT ON: DuckDB sorts whole rows (the wide
-- JSON column included) for DISTINCT ON ... ORDER BY, several times slower.
numbered as (

    select
        *,
        row_number() over (partition by message_id order by _loaded_at, _file, _line) as load_rank
    from source

),

deduplicated as (

    select * from numbered where load_rank = 1

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

extracted as (

    select
        new_messages.*,
        {{ lifecycle.json_texts('message', json_paths) }} as fields
    from new_messages

),

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
            'coalesce(' ~ lifecycle.json_texts_item('fields', json_paths, '$.traits.email') ~ ', '
            ~ lifecycle.json_texts_item('fields', json_paths, '$.context.traits.email') ~ ', '
            ~ lifecycle.json_texts_item('fields', json_paths, '$.properties.email') ~ ')'
        ) }} as email,
        nullif(trim(coalesce(
            {{ lifecycle.json_texts_item('fields', json_paths, '$.traits.name') }},
            {{ lifecycle.json_texts_item('fields', json_paths, '$.context.traits.name') }}
        )), '') as name,
        nullif(trim(coalesce(
            {{ lifecycle.json_texts_item('fields', json_paths, '$.traits.first_name') }},
            {{ lifecycle.json_texts_item('fields', json_paths, '$.context.traits.first_name') }}
        )), '') as first_name,
        nullif(trim(coalesce(
            {{ lifecycle.json_texts_item('fields', json_paths, '$.traits.last_name') }},
            {{ lifecycle.json_texts_item('fields', json_paths, '$.context.traits.last_name') }}
        )), '') as last_name,
        nullif(trim(coalesce(
            {{ lifecycle.json_texts_item('fields', json_paths, '$.traits.phone') }},
            {{ lifecycle.json_texts_item('fields', json_paths, '$.context.traits.phone') }}
        )), '') as phone,

        nullif(trim({{ lifecycle.json_texts_item('fields', json_paths, '$.context.campaign.source') }}), '') as utm_source,
        nullif(trim({{ lifecycle.json_texts_item('fields', json_paths, '$.context.campaign.medium') }}), '') as utm_medium,
        nullif(trim({{ lifecycle.json_texts_item('fields', json_paths, '$.context.campaign.name') }}), '') as utm_campaign,
        nullif(trim({{ lifecycle.json_texts_item('fields', json_paths, '$.context.campaign.term') }}), '') as utm_term,
        nullif(trim({{ lifecycle.json_texts_item('fields', json_paths, '$.context.campaign.content') }}), '') as utm_content,

        coalesce(
            {{ lifecycle.json_texts_item('fields', json_paths, '$.context.page.url') }},
            {{ lifecycle.json_texts_item('fields', json_paths, '$.properties.url') }}
        ) as page_url,
        coalesce(
            {{ lifecycle.json_texts_item('fields', json_paths, '$.context.page.path') }},
            {{ lifecycle.json_texts_item('fields', json_paths, '$.properties.path') }}
        ) as page_path,
        nullif(trim(coalesce(
            {{ lifecycle.json_texts_item('fields', json_paths, '$.context.page.referrer') }},
            {{ lifecycle.json_texts_item('fields', json_paths, '$.properties.referrer') }}
        )), '') as referrer,
        coalesce(
            {{ lifecycle.json_texts_item('fields', json_paths, '$.context.page.title') }},
            {{ lifecycle.json_texts_item('fields', json_paths, '$.properties.title') }}
        ) as page_title,

        nullif(trim({{ lifecycle.json_texts_item('fields', json_paths, '$.properties.order_id') }}), '') as order_id,
        {{ lifecycle.try_cast(
            'coalesce(' ~ lifecycle.json_texts_item('fields', json_paths, '$.properties.total') ~ ', '
            ~ lifecycle.json_texts_item('fields', json_paths, '$.properties.revenue') ~ ')',
            'decimal(18, 2)'
        ) }} as order_total,
        upper(nullif(trim({{ lifecycle.json_texts_item('fields', json_paths, '$.properties.currency') }}), '')) as currency,
        nullif(trim({{ lifecycle.json_texts_item('fields', json_paths, '$.properties.product_id') }}), '') as product_id,
        nullif(trim({{ lifecycle.json_texts_item('fields', json_paths, '$.properties.sku') }}), '') as product_sku,
        {{ lifecycle.json_value('message', '$.properties.products') }} as products,

        _file,
        _line,
        _loaded_at

    from extracted

),

final as (

    select * from renamed

)

select * from final
