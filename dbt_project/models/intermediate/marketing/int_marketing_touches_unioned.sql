{#-
    Marketing touches (SPEC 7 attribution): web messages with UTM campaign context, and email
    clicks (source = email, medium = email, campaign = the campaign name). First touch and last
    touch models pick from here. Referrer and direct fallbacks are not touches: they apply only
    to a person without any (see dim_persons).
-#}
with

web_events as (

    select * from {{ ref('int_web_events_resolved') }}

),

email_clicks as (

    select email_events.*, identity_map.person_id
    from {{ ref('stg_sendgrid__events') }} as email_events
    inner join {{ ref('int_identity_map') }} as identity_map
        on identity_map.identifier_type = 'email' and identity_map.identifier_value = email_events.email
    where email_events.event = 'click'

),

web_touches as (

    select
        person_id,
        event_at as touched_at,
        'web' as touch_type,
        message_id as touch_id,
        lower(utm_source) as source,
        lower(utm_medium) as medium,
        utm_campaign as campaign
    from web_events
    where person_id is not null
        and (utm_source is not null or utm_medium is not null or utm_campaign is not null)

),

email_touches as (

    select
        person_id,
        event_at as touched_at,
        'email_click' as touch_type,
        sg_event_id as touch_id,
        'email' as source,
        'email' as medium,
        campaign_name as campaign
    from email_clicks

),

final as (

    select * from web_touches
    union all
    select * from email_touches

)

select * from final
