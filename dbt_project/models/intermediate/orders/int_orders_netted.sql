{#-
    Orders (SPEC 6): a distinct "Order Completed" order_id up to as_of, its first message winning
    when the order is sent twice, netted against "Order Refunded" messages for the same order_id.
    A refund without an amount refunds the whole order; a refund whose amount is there but not a
    number is not applied and is counted in unreadable_refund_amounts (a data test warns on it).
    Fully refunded orders are kept here (is_fully_refunded) and left out of fct_orders.
-#}
with

web_events as (

    select * from {{ ref('int_web_events_resolved') }}

),

products as (

    select * from {{ ref('products') }}

),

completed as (

    {% call lifecycle.distinct_on('order_id', '*', 'event_at, message_id') %}
    from web_events
    where event = 'Order Completed'
        and order_id is not null
        and event_at <= {{ lifecycle_as_of() }}
    {% endcall %}

),

-- Orders without a total are priced from their product lines.
line_totals as (

    select
        completed.order_id,
        sum(
            coalesce({{ lifecycle.try_cast('item.price', 'decimal(18, 2)') }}, products.price)
            * coalesce({{ lifecycle.try_cast('item.quantity', 'integer') }}, 1)
        ) as lines_total
    from (
        select
            order_id,
            {{ lifecycle.json_text('product', '$.product_id') }} as product_id,
            {{ lifecycle.json_text('product', '$.price') }} as price,
            {{ lifecycle.json_text('product', '$.quantity') }} as quantity
        from (
            select order_id, {{ lifecycle.unnest_json_array('products', '$') }} as product
            from completed
        ) as unnested
    ) as item
    inner join completed on completed.order_id = item.order_id
    left join products on products.product_id = item.product_id
    group by completed.order_id

),

-- The raw amount text of refunds whose amount did not parse: staging's order_total is NULL both when
-- the message has no total/revenue (a full refund, SPEC 4.1) and when it has one that is not a number
-- ("12,50"). Only the second has text here; such a refund is not applied as a full refund. The text
-- is read from the raw message (staging keeps no copy of it), its first load as in staging.
refunds_without_amount as (

    select message_id
    from {{ ref('stg_segment__events') }}
    where event = 'Order Refunded' and order_total is null

),

{%- set amount_text -%}
    raw_events.message_id,
    coalesce(
        {{ lifecycle.json_text('raw_events.message', '$.properties.total') }},
        {{ lifecycle.json_text('raw_events.message', '$.properties.revenue') }}
    ) as amount_text
{%- endset %}

refund_amount_texts as (

    {% call lifecycle.distinct_on('raw_events.message_id', amount_text, 'raw_events._loaded_at, raw_events._file, raw_events._line') %}
    from {{ source('segment', 'segment_events') }} as raw_events
    inner join refunds_without_amount on refunds_without_amount.message_id = raw_events.message_id
    -- staging's event is trim(event): filtering on it here keeps the scan from reading every message
    where trim(raw_events.event) = 'Order Refunded'
    {% endcall %}

),

refunds as (

    select
        web_events.order_id,
        min(web_events.event_at) as first_refunded_at,
        -- No amount at all = full refund; summed as NULL-aware below.
        bool_or(web_events.order_total is null and refund_amount_texts.amount_text is null) as has_full_refund,
        count(refund_amount_texts.amount_text) as unreadable_refund_amounts,
        sum(web_events.order_total) as refunded_total
    from web_events
    left join refund_amount_texts on refund_amount_texts.message_id = web_events.message_id
    where web_events.event = 'Order Refunded'
        and web_events.order_id is not null
        and web_events.event_at <= {{ lifecycle_as_of() }}
    group by web_events.order_id

),

netted as (

    select
        completed.order_id,
        completed.message_id,
        completed.person_id,
        completed.event_at as ordered_at,
        coalesce(completed.order_total, line_totals.lines_total, 0) as gross_total,
        coalesce(completed.currency, 'USD') as currency,
        refunds.first_refunded_at,
        refunds.has_full_refund,
        coalesce(refunds.unreadable_refund_amounts, 0) as unreadable_refund_amounts,
        refunds.refunded_total
    from completed
    left join line_totals on line_totals.order_id = completed.order_id
    left join refunds on refunds.order_id = completed.order_id

),

final as (

    select
        order_id,
        message_id,
        person_id,
        ordered_at,
        gross_total,
        currency,
        case
            when has_full_refund then gross_total
            else least(coalesce(refunded_total, 0), gross_total)
        end as refunded_amount,
        gross_total - (
            case
                when has_full_refund then gross_total
                else least(coalesce(refunded_total, 0), gross_total)
            end
        ) as net_revenue,
        first_refunded_at,
        unreadable_refund_amounts,
        coalesce(has_full_refund, false) or coalesce(refunded_total, 0) >= gross_total and refunded_total is not null
            as is_fully_refunded
    from netted

)

select * from final
