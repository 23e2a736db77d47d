{#-
    Every de-duplicated SendGrid event with its person (SPEC 5): stg_sendgrid__events joined on its
    email to the email identifiers of int_identity_map, as int_web_events_resolved does for web
    messages. An event whose address is invalid (email NULL) or unmapped has no person (person_id
    NULL) but is kept. fct_email_events and int_persons_activity_aggregated read the person here.
    A view: the person is one hash join at each read, so an identity merge costs nothing here.
-#}
{{ config(materialized='view') }}

with

email_events as (

    select * from {{ ref('stg_sendgrid__events') }}

),

email_identities as (

    select * from {{ ref('int_identity_map') }}
    where identifier_type = 'email'

),

final as (

    select
        email_events.*,
        email_identities.person_id
    from email_events
    left join email_identities on email_identities.identifier_value = email_events.email

)

select * from final
