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

web_identities as (

    select identity_key, person_id from {{ ref('int_web_identities_resolved') }}
    where person_id is not null

),

-- The web messages rolled up per identity_key, and the email events per address, before the
-- person is joined: every message of one key carries the same identifiers (its email is one value,
-- hence max), so each person-level first, last, latest and count below is the first, last, latest
-- or sum of their identities' and addresses'. At 100,000 persons, joining every message and event
-- to its person took 2.5 s of each daily build (docs/scaling.md).
web_by_identity as (

    select
        identity_key,
        max(email) as email,
        min(event_at) as first_seen_at,
        max(event_at) as last_seen_at,
        min(event_at) filter (where type = 'track' and event = 'Signed Up') as first_signed_up_at,
        {{ lifecycle.max_by('name', 'event_at', 'name is not null') }} as name,
        max(event_at) filter (where name is not null) as name_seen_at,
        {{ lifecycle.max_by('phone', 'event_at', 'phone is not null') }} as phone,
        max(event_at) filter (where phone is not null) as phone_seen_at
    from {{ ref('int_web_events_classified') }}
    where event_at <= {{ lifecycle_as_of() }}
    group by identity_key

),

web_activity as (

    select
        web_identities.person_id,
        web_by_identity.email,
        web_by_identity.first_seen_at,
        web_by_identity.last_seen_at,
        web_by_identity.first_signed_up_at,
        web_by_identity.name,
        web_by_identity.name_seen_at,
        web_by_identity.phone,
        web_by_identity.phone_seen_at
    from web_by_identity
    inner join web_identities on web_identities.identity_key = web_by_identity.identity_key

),

email_identities as (

    select identifier_value as email, person_id from {{ ref('int_identity_map') }}
    where identifier_type = 'email'

),

email_by_address as (

    select
        email,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at,
        count(*) filter (where event = 'delivered') as delivered_emails,
        count(*) filter (where event = 'open') as email_opens,
        count(*) filter (where event = 'click') as email_clicks
    from {{ ref('stg_sendgrid__events') }}
    where email is not null and event_at <= {{ lifecycle_as_of() }}
    group by email

),

email_activity as (

    select
        email_identities.person_id,
        email_by_address.email,
        email_by_address.first_event_at,
        email_by_address.last_event_at,
        email_by_address.delivered_emails,
        email_by_address.email_opens,
        email_by_address.email_clicks
    from email_by_address
    inner join email_identities on email_identities.email = email_by_address.email

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

-- First and last seen over every source, and the email and ticket counts.
seen as (

    select
        person_id,
        first_seen_at,
        last_seen_at,
        true as is_web,
        0 as delivered_emails,
        0 as email_opens,
        0 as email_clicks,
        0 as tickets
    from web_activity
    union all
    select
        person_id,
        first_event_at as first_seen_at,
        last_event_at as last_seen_at,
        false as is_web,
        delivered_emails,
        email_opens,
        email_clicks,
        0 as tickets
    from email_activity
    union all
    select
        person_id,
        created_at as first_seen_at,
        created_at as last_seen_at,
        false as is_web,
        0 as delivered_emails,
        0 as email_opens,
        0 as email_clicks,
        1 as tickets
    from tickets

),

seen_per_person as (

    select
        person_id,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        bool_or(is_web) as has_web_activity,
        cast(sum(delivered_emails) as bigint) as delivered_emails,
        cast(sum(email_opens) as bigint) as email_opens,
        cast(sum(email_clicks) as bigint) as email_clicks,
        cast(sum(tickets) as bigint) as tickets_total
    from seen
    group by person_id

),

lead_signals as (

    select person_id, first_seen_at as signal_at, 'email' as signal
    from web_activity where email is not null
    union all
    select person_id, first_signed_up_at as signal_at, 'signed_up' as signal
    from web_activity where first_signed_up_at is not null
    union all
    select person_id, first_event_at as signal_at, 'email' as signal from email_activity
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

    select person_id, email, last_seen_at as seen_at from web_activity where email is not null
    union all
    select person_id, email, last_event_at as seen_at from email_activity
    union all
    select person_id, email, coalesce(updated_at, created_at) as seen_at from zendesk_users where email is not null

),

latest_email as (

    {% call lifecycle.distinct_on('person_id', 'person_id, email', 'seen_at desc nulls last, email asc') %}
    from emails_seen
    {% endcall %}

),

contact_details as (

    select person_id, name, cast(null as {{ lifecycle.text_type() }}) as phone, name_seen_at as seen_at
    from web_activity where name is not null
    union all
    select person_id, cast(null as {{ lifecycle.text_type() }}) as name, phone, phone_seen_at as seen_at
    from web_activity where phone is not null
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
