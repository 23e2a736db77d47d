{{ config(materialized='table') }}
{#-
    One row per send month, campaign and recipient address with whether they opened, clicked or
    unsubscribed: the unique counts of SPEC 7 are distinct addresses per campaign (and month). Only
    the events that make those counts are read. A table, for the same reason as
    int_email_messages_aggregated: as a view each reader recomputed it. It holds addresses, so an
    erasure redacts it like every other table (and the next build rebuilds it from redacted events).
-#}
with

events as (

    select * from {{ ref('int_email_events_keyed') }}

),

messages as (

    select distinct message_key, send_month from {{ ref('int_email_messages_aggregated') }}

),

final as (

    select
        messages.send_month,
        events.campaign,
        events.email,
        max(case when events.event = 'open' then 1 else 0 end) as has_opened,
        max(case when events.event = 'click' then 1 else 0 end) as has_clicked,
        max(case when events.event in ('unsubscribe', 'group_unsubscribe') then 1 else 0 end) as has_unsubscribed
    from events
    inner join messages on messages.message_key = events.message_key
    where events.email is not null and events.event in ('open', 'click', 'unsubscribe', 'group_unsubscribe')
    group by messages.send_month, events.campaign, events.email

)

select * from final
