{#-
    The customer 360: one row per person (SPEC 5 and 6), as of `as_of`.
    lifecycle_stage is computed here from the SPEC 6 stage table (macro lifecycle_stage) and
    independently in fct_lifecycle_transitions from the event history; a data test checks that
    they agree for every person. stage_entered_at is the time of that last transition.
-#}
with

persons as (

    select * from {{ ref('int_persons_activity_aggregated') }}

),

staged as (

    select * from {{ ref('int_persons_staged') }}

),

lead_statuses as (

    select * from {{ ref('int_lead_statuses_assigned') }}

),

contact_details as (

    select * from {{ ref('int_persons_contact_details') }}

),

tickets as (

    select * from {{ ref('fct_tickets') }}
    where created_at <= {{ lifecycle_as_of() }}

),

-- Consent over every address of the person, matched by the one email rule's match key.
email_consent as (

    select * from {{ ref('int_email_consent_by_person') }}

),

transitions as (

    select * from {{ ref('fct_lifecycle_transitions') }}

),

touches as (

    select * from {{ ref('int_marketing_touches_unioned') }}
    where touched_at <= {{ lifecycle_as_of() }}

),

web_identities as (

    select identity_key, person_id from {{ ref('int_web_identities_resolved') }}
    where person_id is not null

),

ticket_summary as (

    select
        person_id,
        count(*) filter (where is_open) as open_tickets,
        count(*) filter (where is_open and priority in ('high', 'urgent')) as open_high_urgent_tickets,
        count(*) filter (where satisfaction_score = 'good') as csat_good,
        count(*) filter (where satisfaction_score = 'bad') as csat_bad,
        max(updated_at) filter (where satisfaction_score = 'bad') as last_bad_csat_at
    from tickets
    where person_id is not null
    group by person_id

),

-- The first touch (ties on the time: touch_type, then touch_id): the earliest time per person
-- first, then only the touches at that time are ranked (ranking every touch by the three keys
-- took 0.7 s at 100,000 persons).
first_touch_times as (

    select person_id, min(touched_at) as first_touched_at
    from touches
    group by person_id

),

first_touch as (

    {% call lifecycle.distinct_on('touches.person_id', 'touches.person_id, touches.source, touches.medium, touches.campaign, touches.touched_at', 'touches.touch_type, touches.touch_id') %}
    from touches
    inner join first_touch_times
        on first_touch_times.person_id = touches.person_id
        and first_touch_times.first_touched_at = touches.touched_at
    {% endcall %}

),

-- Without a campaign touch, the class of the external referrer of the first page view (ties on
-- the time: the smallest message_id). The first page time of each identity first (a min over the
-- page views, no join), then the identities of each person whose first page is the person's, and
-- only their page views at that time are ranked. At 100,000 persons, joining every page view to
-- its person took 2 s of each daily build, this 0.7 s.
identity_first_page_times as (

    select identity_key, min(event_at) as first_page_at
    from {{ ref('int_web_events_classified') }}
    where type = 'page' and event_at <= {{ lifecycle_as_of() }}
    group by identity_key

),

identity_first_pages_ranked as (

    select
        web_identities.person_id,
        identity_first_page_times.identity_key,
        identity_first_page_times.first_page_at,
        min(identity_first_page_times.first_page_at) over (partition by web_identities.person_id)
            as person_first_page_at
    from identity_first_page_times
    inner join web_identities on web_identities.identity_key = identity_first_page_times.identity_key

),

first_page_identities as (

    select person_id, identity_key, first_page_at
    from identity_first_pages_ranked
    where first_page_at = person_first_page_at

),

first_referrer as (

    {% call lifecycle.distinct_on('first_page_identities.person_id', 'first_page_identities.person_id, pages.referrer_host, pages.referrer_class', 'pages.message_id') %}
    from {{ ref('int_web_events_classified') }} as pages
    inner join first_page_identities
        on first_page_identities.identity_key = pages.identity_key
        and first_page_identities.first_page_at = pages.event_at
    where pages.type = 'page'
    {% endcall %}

),

has_web as (

    select person_id from persons where has_web_activity

),

current_transition as (

    {% call lifecycle.distinct_on('person_id', 'person_id, to_stage, transitioned_at', 'transition_number desc') %}
    from transitions
    {% endcall %}

),

person_stages as (

    select
        persons.*,
        staged.order_count,
        staged.first_order_at,
        staged.last_order_at,
        staged.net_revenue,
        staged.lifecycle_stage,
        staged.as_of
    from persons
    inner join staged on staged.person_id = persons.person_id

),

final as (

    select
        person_stages.person_id,
        person_stages.email,
        person_stages.user_id,
        person_stages.phone,
        person_stages.name,
        contact_details.first_name,
        contact_details.last_name,
        contact_details.phone_e164,
        person_stages.first_seen_at,
        person_stages.last_seen_at,
        person_stages.is_lead,
        person_stages.lead_at,
        person_stages.lead_signal,
        person_stages.lifecycle_stage,
        current_transition.transitioned_at as stage_entered_at,
        lead_statuses.lead_status,
        lead_statuses.lead_score,
        case
            when first_touch.person_id is not null then first_touch.source
            when first_referrer.referrer_class is not null then first_referrer.referrer_host
            when has_web.person_id is not null then 'direct'
        end as first_touch_source,
        case
            when first_touch.person_id is not null then first_touch.medium
            when first_referrer.referrer_class is not null then first_referrer.referrer_class
            when has_web.person_id is not null then 'direct'
        end as first_touch_medium,
        first_touch.campaign as first_touch_campaign,
        first_touch.touched_at as first_touch_at,
        person_stages.first_order_at,
        person_stages.last_order_at,
        person_stages.order_count,
        cast(person_stages.net_revenue as decimal(18, 2)) as net_revenue,  -- BI type: no DECIMAL(38,2)
        coalesce(email_consent.email_consent_state, 'unknown') as email_consent_state,
        coalesce(email_consent.is_suppressed_from_all, false) as is_email_suppressed,
        email_consent.suppression_reason,
        email_consent.suppressed_since,
        email_consent.unsubscribed_group_ids,
        coalesce(ticket_summary.open_tickets, 0) as open_tickets,
        coalesce(ticket_summary.open_high_urgent_tickets, 0) as open_high_urgent_tickets,
        coalesce(ticket_summary.csat_good, 0) as csat_good,
        coalesce(ticket_summary.csat_bad, 0) as csat_bad,
        ticket_summary.last_bad_csat_at,
        person_stages.delivered_emails,
        person_stages.email_opens,
        person_stages.email_clicks,
        person_stages.tickets_total,
        person_stages.as_of
    from person_stages
    left join lead_statuses on lead_statuses.person_id = person_stages.person_id
    left join contact_details on contact_details.person_id = person_stages.person_id
    left join email_consent on email_consent.person_id = person_stages.person_id
    left join ticket_summary on ticket_summary.person_id = person_stages.person_id
    left join first_touch on first_touch.person_id = person_stages.person_id
    left join first_referrer on first_referrer.person_id = person_stages.person_id
    left join has_web on has_web.person_id = person_stages.person_id
    left join current_transition on current_transition.person_id = person_stages.person_id

)

select * from final
