{#-
    One row per Segment message with its person: the web activity BI and KPI models read.
    A view: it only projects int_web_events_resolved (an incremental table), so a run costs nothing
    here instead of rewriting every event of the year; the published copy for BI is a table.
-#}
{{ config(materialized='view') }}

with

web_events as (

    select * from {{ ref('int_web_events_resolved') }}

),

final as (

    select
        message_id,
        person_id,
        type,
        event,
        event_at,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_term,
        utm_content,
        page_url,
        page_path,
        referrer,
        referrer_host,
        referrer_class,
        order_id,
        order_total,
        currency,
        product_id,
        product_sku
    from web_events

)

select * from final
