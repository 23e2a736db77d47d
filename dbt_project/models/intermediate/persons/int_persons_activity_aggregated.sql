{#-
    Per person: when first seen, when they became a lead, their best contact details and activity
    counts up to as_of. Lead (SPEC 6): an email address known or a lead signal ("Signed Up" or an
    identify with an email); lead_at is the first moment either was observed (a web message
    carrying a valid email, a "Signed Up", a SendGrid event, a ticket from a requester with an
    email). A person whose email is known only from a Zendesk user record becomes a lead when first
    seen: the record's created_at, else its updated_at, else its load time (at most as_of).
-#}
with

identity_map as (

    select * from {{ ref('int_identity_map') }}

),

web_events as (

    select * from {{ ref('int_web_events_resolved') }}
    where person_id is not null and event_at <= {{ lifecycle_as_of() }}

),

email_events as (

    select * from {{ ref('int_email_events_resolved') }}
    where person_id is not null and event_at <= {{ lifecycle_as_of() }}

),

zendesk_users as (

    select * from {{ ref('int_zendesk_users_resolved') }}
    where person_id is not null

),

tickets as (

    select * from {{ ref('int_tickets_resolved') }}
    where person_id is not null and created_at <= {{ lifecycle_as_of() }}

),

-- A Zendesk user record may carry no created_at or updated_at (a partial export; the generator
-- writes neither). Then the time the record was loaded, never later than as_of, stands in, so a
-- person known only from such a record still has a first-seen (and lead) time.
persons as (

    select
        identity_map.person_id,
        min(case when identity_map.identifier_type = 'user_id' then identity_map.identifier_value end)
            as user_id,
        min(case when identity_map.identifier_type = 'email' then identity_map.identifier_value end)
            as any_email,
        bool_or(identity_map.identifier_type = 'email') as has_email_identifier,
        min(
            coalesce(
                zendesk_users.created_at,
                zendesk_users.updated_at,
                least(zendesk_users._loaded_at, {{ lifecycle_as_of() }})
            )
        ) as zendesk_first_seen_at
    from identity_map
    left join zendesk_users
        on identity_map.identifier_type = 'zendesk_user_id'
        and zendesk_users.zendesk_user_key = identity_map.identifier_value
    group by identity_map.person_id

),

seen as (

    select person_id, event_at as seen_at, 'web' as source, cast(null as {{ lifecycle.text_type() }}) as event from web_events
    union all
    select person_id, event_at as seen_at, 'email' as source, event from email_events
    union all
    select person_id, created_at as seen_at, 'ticket' as source, cast(null as {{ lifecycle.text_type() }}) as event from tickets

),

-- One pass over the activity: first and last seen, and the email and ticket counts.
seen_per_person as (

    select
        person_id,
        min(seen_at) as first_seen_at,
        max(seen_at) as last_seen_at,
        bool_or(source = 'web') as has_web_activity,
        count(*) filter (where source = 'email' and event = 'delivered') as delivered_emails,
        count(*) filter (where source = 'email' and event = 'open') as email_opens,
        count(*) filter (where source = 'email' and event = 'click') as email_clicks,
        count(*) filter (where source = 'ticket') as tickets_total
    from seen
    group by person_id

),

lead_signals as (

    select person_id, event_at as signal_at, 'email' as signal
    from web_events where email is not null
    union all
    select person_id, event_at as signal_at, 'signed_up' as signal
    from web_events where type = 'track' and event = 'Signed Up'
    union all
    select person_id, event_at as signal_at, 'email' as signal from email_events
    union all
    select person_id, created_at as signal_at, 'email' as signal from tickets where requester_email is not null

),

first_lead_signal as (

    {% call lifecycle.distinct_on('person_id', 'person_id, signal_at as lead_signal_at, signal as lead_signal', 'signal_at, signal') %}
    from lead_signals
    {% endcall %}

),

-- Best email: the latest one seen from any source.
emails_seen as (

    select person_id, email, event_at as seen_at from web_events where email is not null
    union all
    select person_id, email, event_at as seen_at from email_events where email is not null
    union all
    select person_id, email, coalesce(updated_at, created_at) as seen_at from zendesk_users where email is not null

),

latest_email as (

    {% call lifecycle.distinct_on('person_id', 'person_id, email', 'seen_at desc nulls last, email asc') %}
    from emails_seen
    {% endcall %}

),

contact_details as (

    select person_id, name, phone, event_at as seen_at from web_events
    where name is not null or phone is not null
    union all
    select person_id, name, phone, coalesce(updated_at, created_at) as seen_at from zendesk_users
    where name is not null or phone is not null

),

latest_contact as (

    select
        person_id,
        {{ lifecycle.max_by('name', 'seen_at', 'name is not null') }} as name,
        {{ lifecycle.max_by('phone', 'seen_at', 'phone is not null') }} as phone
    from contact_details
    group by person_id

),

final as (

    select
        persons.person_id,
        coalesce(latest_email.email, persons.any_email) as email,
        persons.user_id,
        latest_contact.phone,
        latest_contact.name,
        coalesce(seen_per_person.first_seen_at, persons.zendesk_first_seen_at) as first_seen_at,
        seen_per_person.last_seen_at,
        coalesce(seen_per_person.has_web_activity, false) as has_web_activity,
        first_lead_signal.lead_signal_at is not null or persons.has_email_identifier as is_lead,
        case
            when first_lead_signal.lead_signal_at is not null then first_lead_signal.lead_signal_at
            when persons.has_email_identifier
                then coalesce(seen_per_person.first_seen_at, persons.zendesk_first_seen_at)
        end as lead_at,
        coalesce(first_lead_signal.lead_signal, case when persons.has_email_identifier then 'email' end)
            as lead_signal,
        coalesce(seen_per_person.delivered_emails, 0) as delivered_emails,
        coalesce(seen_per_person.email_opens, 0) as email_opens,
        coalesce(seen_per_person.email_clicks, 0) as email_clicks,
        coalesce(seen_per_person.tickets_total, 0) as tickets_total
    from persons
    left join seen_per_person on seen_per_person.person_id = persons.person_id
    left join first_lead_signal on first_lead_signal.person_id = persons.person_id
    left join latest_email on latest_email.person_id = persons.person_id
    left join latest_contact on latest_contact.person_id = persons.person_id

)

select * from final
