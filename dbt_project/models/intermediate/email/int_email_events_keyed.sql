{{ config(materialized='view') }}
{#-
    The staged SendGrid events up to as_of with the two keys the email KPIs group by: campaign
    (name, else id, else '(none)') and message_key (sg_message_id, else the event's own id): macros
    email_campaign and email_message_key. A view.
-#}
with

events as (

    select * from {{ ref('stg_sendgrid__events') }}

),

final as (

    select
        *,
        {{ lifecycle.email_campaign() }} as campaign,
        {{ lifecycle.email_message_key() }} as message_key
    from events
    where event_at <= {{ lifecycle_as_of() }}

)

select * from final
