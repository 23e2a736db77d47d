{{ config(materialized='view') }}
{#-
    The staged SendGrid events up to as_of with the two keys the email KPIs group by: campaign
    (name, else id, else '(none)') and message_key (sg_message_id, else the event's own id). A view.
-#}
with

events as (

    select * from {{ ref('stg_sendgrid__events') }}

),

final as (

    select
        *,
        coalesce(campaign_name, campaign_id, '(none)') as campaign,
        coalesce(sg_message_id, 'event:' || sg_event_id) as message_key
    from events
    where event_at <= {{ lifecycle_as_of() }}

)

select * from final
