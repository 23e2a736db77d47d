{#-
    One row per de-duplicated SendGrid event with its person (NULL when the address is invalid),
    resolved once in int_email_events_resolved. A view: the person is one hash join on the email,
    cheaper at each read than rewriting every event of the year each run (identity merges can
    change any row's person); the published copy for BI is a table.
-#}
{{ config(materialized='view') }}

with

email_events as (

    select * from {{ ref('int_email_events_resolved') }}

),

final as (

    select
        email_events.sg_event_id,
        email_events.event,
        email_events.email,
        email_events.person_id,
        email_events.event_at,
        email_events.campaign_id,
        email_events.campaign_name,
        email_events.bounce_type,
        email_events.url,
        email_events.sg_message_id,
        email_events.asm_group_id
    from email_events

)

select * from final
