{#-
    The email message keys (SPEC 7), one definition for int_email_events_keyed and
    int_email_messages_accumulated, which reads staging directly because it must not depend on
    as_of. Expressions over the columns of stg_sendgrid__events.
-#}
{% macro email_campaign() -%}
    coalesce(campaign_name, campaign_id, '(none)')
{%- endmacro %}

{% macro email_message_key() -%}
    coalesce(sg_message_id, 'event:' || sg_event_id)
{%- endmacro %}

{#-
    The CTEs `message_months` and `final` (the caller ends with `select * from final`): one row per
    email message and campaign from `events` (a CTE with campaign, message_key,
    campaign_id, event, event_at and _loaded_at): the aggregation of int_email_messages_aggregated,
    shared by its two paths. Its send month is the month of the message's first event, so all events
    of a send, late opens included, count in that month. processed = any sending event (processed,
    deferred, delivered, bounce, dropped): a delivered message was processed even when its processed
    event was lost. _loaded_at: the newest load among the message's events (the high-water mark of
    the incremental path).
-#}
{% macro email_messages_rollup_ctes(events) -%}
message_months as (

    select message_key, cast({{ dbt.date_trunc('month', 'min(event_at)') }} as date) as send_month
    from {{ events }}
    group by message_key

),

final as (

    select
        message_months.send_month,
        events.campaign,
        events.message_key,
        max(events.campaign_id) as campaign_id,
        max(case when events.event in ('processed', 'deferred', 'delivered', 'bounce', 'dropped') then 1 else 0 end)
            as is_processed,
        max(case when events.event = 'delivered' then 1 else 0 end) as is_delivered,
        max(case when events.event = 'bounce' then 1 else 0 end) as is_bounce,
        max(case when events.event = 'dropped' then 1 else 0 end) as is_drop,
        sum(case when events.event = 'deferred' then 1 else 0 end) as deferrals,
        sum(case when events.event = 'open' then 1 else 0 end) as opens,
        sum(case when events.event = 'click' then 1 else 0 end) as clicks,
        sum(case when events.event in ('unsubscribe', 'group_unsubscribe') then 1 else 0 end) as unsubscribes,
        sum(case when events.event = 'spamreport' then 1 else 0 end) as spam_reports,
        max(events._loaded_at) as _loaded_at
    from {{ events }} as events
    inner join message_months on message_months.message_key = events.message_key
    group by message_months.send_month, events.campaign, events.message_key

)
{%- endmacro %}
