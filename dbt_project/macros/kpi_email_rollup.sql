{#-
    SPEC 7 email KPIs grouped by campaign, and by month too when `by_month`. Shared by
    mart_email_campaign_performance and mart_email_monthly so both use one definition. The
    message and recipient grains are models (int_email_messages_aggregated,
    int_email_recipients_aggregated); this macro only groups them and adds attribution and rates.
    - A message is an sg_message_id (every event of one email carries it; an event without one is
      its own message). Its month is the month of its first event (the send month), so all events
      of a campaign's send, late opens included, count in that month and rates stay within 0..1.
    - processed = messages with any sending event (processed, deferred, delivered, bounce, dropped):
      a delivered message was processed even when its processed event was lost, so delivered never
      exceeds processed. delivered, bounces (both types) and drops count messages.
    - Unique opens, clicks and unsubscribes are distinct email addresses per campaign (and month);
      unsubscribes counts unsubscribe plus group_unsubscribe events, spam_reports spamreport events.
    - Email-attributed order: an order by the person within email_attribution_window_days (7) after
      their click in the campaign; when several clicks qualify the last click wins; it counts in the
      send month of the clicked message.
-#}
{% macro kpi_email_rollup(by_month) -%}
{%- set group_by = "1, 2" if by_month else "1" -%}
with

messages as (

    select * from {{ ref('int_email_messages_aggregated') }}

),

recipients as (

    select * from {{ ref('int_email_recipients_aggregated') }}

),

events as (

    select * from {{ ref('int_email_events_keyed') }}

),

-- Only clicks need the person (for attribution): resolving every event would cost a join per row.
person_clicks as (

    select sg_event_id, person_id
    from {{ ref('fct_email_events') }}
    where event = 'click' and person_id is not null

),

orders as (

    select * from {{ ref('fct_orders') }}

),

message_months as (

    select distinct message_key, send_month from messages

),

clicks as (

    select
        person_clicks.person_id,
        events.event_at as clicked_at,
        events.campaign,
        message_months.send_month,
        events.sg_event_id
    from events
    inner join message_months on message_months.message_key = events.message_key
    inner join person_clicks on person_clicks.sg_event_id = events.sg_event_id
    where events.event = 'click'

),

order_clicks as (

    select
        orders.order_id,
        orders.net_revenue,
        clicks.campaign,
        clicks.send_month,
        row_number() over (
            partition by orders.order_id order by clicks.clicked_at desc, clicks.sg_event_id desc
        ) as click_rank
    from orders
    inner join clicks
        on clicks.person_id = orders.person_id
        and clicks.clicked_at <= orders.ordered_at
        and clicks.clicked_at
        >= {{ dbt.dateadd('day', -1 * var('email_attribution_window_days'), 'orders.ordered_at') }}

),

attributed_orders as (

    select
        {% if by_month %}send_month as month,{% endif %}
        campaign,
        count(*) as attributed_orders,
        sum(net_revenue) as attributed_revenue
    from order_clicks
    where click_rank = 1
    group by {{ group_by }}

),

{% if not by_month %}
-- A recipient counts once per campaign, whatever the send months of their messages.
campaign_recipients as (

    select
        campaign,
        email,
        max(has_opened) as has_opened,
        max(has_clicked) as has_clicked,
        max(has_unsubscribed) as has_unsubscribed
    from recipients
    group by campaign, email

),
{% endif %}

recipient_counts as (

    select
        {% if by_month %}send_month as month,{% endif %}
        campaign,
        cast(sum(has_opened) as bigint) as unique_opens,
        cast(sum(has_clicked) as bigint) as unique_clicks,
        cast(sum(has_unsubscribed) as bigint) as unique_unsubscribes
    from {{ 'recipients' if by_month else 'campaign_recipients' }}
    group by {{ group_by }}

),

message_counts as (

    select
        {% if by_month %}send_month as month,{% endif %}
        campaign,
        max(campaign_id) as campaign_id,
        cast(sum(is_processed) as bigint) as processed,
        cast(sum(is_delivered) as bigint) as delivered,
        cast(sum(is_bounce) as bigint) as bounces,
        cast(sum(is_drop) as bigint) as drops,
        sum(deferrals) as deferrals,
        sum(opens) as opens,
        sum(clicks) as clicks,
        sum(unsubscribes) as unsubscribes,
        sum(spam_reports) as spam_reports
    from messages
    group by {{ group_by }}

),

event_counts as (

    select
        message_counts.*,
        coalesce(recipient_counts.unique_opens, 0) as unique_opens,
        coalesce(recipient_counts.unique_clicks, 0) as unique_clicks,
        coalesce(recipient_counts.unique_unsubscribes, 0) as unique_unsubscribes
    from message_counts
    left join recipient_counts
        on recipient_counts.campaign = message_counts.campaign
        {% if by_month %}and recipient_counts.month = message_counts.month{% endif %}

),

combined as (

    select
        {% if by_month %}coalesce(event_counts.month, attributed_orders.month) as month,{% endif %}
        coalesce(event_counts.campaign, attributed_orders.campaign) as campaign_name,
        event_counts.campaign_id,
        coalesce(event_counts.processed, 0) as processed,
        coalesce(event_counts.delivered, 0) as delivered,
        coalesce(event_counts.bounces, 0) as bounces,
        coalesce(event_counts.drops, 0) as drops,
        coalesce(event_counts.deferrals, 0) as deferrals,
        coalesce(event_counts.opens, 0) as opens,
        coalesce(event_counts.unique_opens, 0) as unique_opens,
        coalesce(event_counts.clicks, 0) as clicks,
        coalesce(event_counts.unique_clicks, 0) as unique_clicks,
        coalesce(event_counts.unsubscribes, 0) as unsubscribes,
        coalesce(event_counts.unique_unsubscribes, 0) as unique_unsubscribes,
        coalesce(event_counts.spam_reports, 0) as spam_reports,
        coalesce(attributed_orders.attributed_orders, 0) as attributed_orders,
        coalesce(attributed_orders.attributed_revenue, 0) as attributed_revenue
    from event_counts
    full outer join attributed_orders
        on attributed_orders.campaign = event_counts.campaign
        {% if by_month %}and attributed_orders.month = event_counts.month{% endif %}

),

final as (

    select
        *,
        {{ kpi_safe_divide('delivered', 'processed') }} as delivery_rate,
        {{ kpi_safe_divide('unique_opens', 'delivered') }} as open_rate,
        {{ kpi_safe_divide('unique_clicks', 'delivered') }} as click_rate,
        {{ kpi_safe_divide('unique_clicks', 'unique_opens') }} as click_to_open_rate,
        {{ kpi_safe_divide('bounces', 'processed') }} as bounce_rate,
        {{ kpi_safe_divide('unique_unsubscribes', 'delivered') }} as unsubscribe_rate,
        {{ kpi_safe_divide('spam_reports', 'delivered') }} as spam_rate
    from combined

)

select * from final
{%- endmacro %}

{#-
    The contract types (BI-friendly, the same on DuckDB and PostgreSQL; see the yml data_type) of
    the kpi_email_rollup columns after the month: the select list both email marts end with.
-#}
{% macro kpi_email_rollup_typed_columns() -%}
    cast(campaign_name as {{ lifecycle.text_type() }}) as campaign_name,
    cast(campaign_id as {{ lifecycle.text_type() }}) as campaign_id,
    {%- for count in [
        'processed', 'delivered', 'bounces', 'drops', 'deferrals', 'opens', 'unique_opens', 'clicks',
        'unique_clicks', 'unsubscribes', 'unique_unsubscribes', 'spam_reports', 'attributed_orders'
    ] %}
    cast({{ count }} as bigint) as {{ count }},
    {%- endfor %}
    cast(attributed_revenue as decimal(18,2)) as attributed_revenue,
    {%- for rate in [
        'delivery_rate', 'open_rate', 'click_rate', 'click_to_open_rate', 'bounce_rate', 'unsubscribe_rate',
        'spam_rate'
    ] %}
    cast({{ rate }} as {{ lifecycle.double_type() }}) as {{ rate }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
