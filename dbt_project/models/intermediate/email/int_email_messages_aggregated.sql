{{ config(materialized='table') }}
{#-
    One row per email message and campaign (SPEC 7), the grain both email marts aggregate from.
    A message is an sg_message_id (every event of one email carries it; an event without one is its
    own message). Its send month is the month of its first event, so all events of a send, late opens
    included, count in that month. processed = any sending event (processed, deferred, delivered,
    bounce, dropped): a delivered message was processed even when its processed event was lost.
    A table, not a view: both marts and its data tests read it, and as a view each of them
    recomputed it from every SendGrid event (at 100,000 persons 31 s of a 57 s daily build, 10 s as a
    table; docs/scaling.md). It stores no address.
-#}
with

events as (

    select * from {{ ref('int_email_events_keyed') }}

),

message_months as (

    select message_key, cast({{ dbt.date_trunc('month', 'min(event_at)') }} as date) as send_month
    from events
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
        sum(case when events.event = 'spamreport' then 1 else 0 end) as spam_reports
    from events
    inner join message_months on message_months.message_key = events.message_key
    group by message_months.send_month, events.campaign, events.message_key

)

select * from final
