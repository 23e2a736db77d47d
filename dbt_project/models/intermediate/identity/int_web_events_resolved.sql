{#-
    Every Segment message with its person (SPEC 5): int_web_events_classified joined on its
    identity_key to int_web_identities_resolved. Messages whose identifiers are all blocked have
    no person (person_id NULL) but are kept.
    A view: the person is one hash join on a small table at each read, so an identity merge that
    moves a year of someone's events costs nothing here, and a run never rewrites the events.
-#}
{{ config(materialized='view') }}

with

web_events as (

    select * from {{ ref('int_web_events_classified') }}

),

web_identities as (

    select * from {{ ref('int_web_identities_resolved') }}

),

final as (

    select
        web_events.message_id,
        web_identities.person_id,
        web_events.type,
        web_events.original_type,
        web_events.event,
        web_events.event_at,
        web_events.anonymous_id,
        web_events.user_id,
        web_events.email,
        web_events.name,
        web_events.phone,
        web_events.utm_source,
        web_events.utm_medium,
        web_events.utm_campaign,
        web_events.utm_term,
        web_events.utm_content,
        web_events.page_url,
        web_events.page_path,
        web_events.referrer,
        web_events.referrer_host,
        web_events.order_id,
        web_events.order_total,
        web_events.currency,
        web_events.product_id,
        web_events.product_sku,
        web_events.products,
        web_events._loaded_at,
        web_events.page_host,
        web_events.referrer_class
    from web_events
    left join web_identities on web_identities.identity_key = web_events.identity_key

)

select * from final
