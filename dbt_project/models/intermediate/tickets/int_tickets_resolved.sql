{#-
    Every Zendesk ticket (latest version, deleted ones included) with its requester's person and
    email (SPEC 5): stg_zendesk__tickets joined on requester_key to the zendesk_user_id identifiers
    of int_identity_map (a requester id is an identity node even without a user record), and to
    int_zendesk_users_resolved for the email. A ticket whose requester is unknown has no person
    (person_id NULL) but is kept. fct_tickets (which leaves deleted tickets out) and
    int_persons_activity_aggregated read the person here. A view, like int_web_events_resolved.
-#}
{{ config(materialized='view') }}

with

tickets as (

    select * from {{ ref('stg_zendesk__tickets') }}

),

zendesk_identities as (

    select * from {{ ref('int_identity_map') }}
    where identifier_type = 'zendesk_user_id'

),

zendesk_users as (

    select * from {{ ref('int_zendesk_users_resolved') }}

),

final as (

    select
        tickets.*,
        zendesk_identities.person_id,
        zendesk_users.email as requester_email
    from tickets
    left join zendesk_identities on zendesk_identities.identifier_value = tickets.requester_key
    left join zendesk_users on zendesk_users.zendesk_user_key = tickets.requester_key

)

select * from final
