{#-
    Every Segment message with the columns the models read, its referrer classified and its
    identity_key (macro web_identity_key: the combination of identifiers it carries). No person:
    int_web_events_resolved adds it by one join on int_web_identities_resolved, so an identity merge
    never rewrites this table.
    Incremental (append), because this is the largest table: a run classifies only the staging
    messages loaded after the newest `_loaded_at` here (minus var('incremental_lookback_minutes'),
    as staging does, with an anti-join on message_id when that lookback is set). Staging holds each
    message once, so the result equals a full refresh.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
    )
}}

with

messages as (

    select * from {{ ref('stg_segment__events') }} as staged
    {% if is_incremental() %}
    where staged._loaded_at > {{ lifecycle.loaded_since() }}
    {% if var('incremental_lookback_minutes') > 0 %}
    -- A lookback re-reads messages already classified: keep only those not here yet.
    and not exists (select 1 from {{ this }} as existing where existing.message_id = staged.message_id)
    {% endif %}
    {% endif %}

),

hosts as (

    select
        message_id,
        {{ lifecycle.segment_message_identity_key() }} as identity_key,
        type,
        original_type,
        event,
        event_at,
        anonymous_id,
        user_id,
        email,
        name,
        phone,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_term,
        utm_content,
        page_url,
        page_path,
        referrer,
        {{ lifecycle.url_host('referrer') }} as referrer_host,
        order_id,
        order_total,
        currency,
        product_id,
        product_sku,
        products,
        _loaded_at,
        {{ lifecycle.url_host('page_url') }} as page_host
    from messages

),

-- A referrer on the site's own host is internal navigation, not a source (no class).
final as (

    select
        *,
        case
            when referrer_host is distinct from page_host then {{ lifecycle.referrer_class('referrer_host') }}
        end as referrer_class
    from hosts

)

select * from final
