{#-
    Every Zendesk user (latest version) with its person (SPEC 5): stg_zendesk__users joined on its
    zendesk_user_key to the zendesk_user_id identifiers of int_identity_map. Every user id is an
    identity node, so person_id is NULL only for a user the identity graph left out.
    A view, like int_web_events_resolved.
-#}
{{ config(materialized='view') }}

with

zendesk_users as (

    select * from {{ ref('stg_zendesk__users') }}

),

zendesk_identities as (

    select * from {{ ref('int_identity_map') }}
    where identifier_type = 'zendesk_user_id'

),

final as (

    select
        zendesk_users.*,
        zendesk_identities.person_id
    from zendesk_users
    left join zendesk_identities on zendesk_identities.identifier_value = zendesk_users.zendesk_user_key

)

select * from final
