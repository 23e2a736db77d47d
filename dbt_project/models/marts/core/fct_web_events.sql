-- One row per Segment message with its person: the web activity BI and KPI models read.
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
