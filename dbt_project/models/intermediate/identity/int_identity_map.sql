{#-
    Identifier -> person (SPEC 5). Every identifier seen anywhere (web, email, tickets, Zendesk
    users) is a node; components come from lifecycle.connected_components over int_identity_edges.
    person_id = 'p_' || md5(type:value) of the component's best identifier (userId, then email,
    then anonymousId, then Zendesk user id; the smallest value within the winning type), so it is
    stable from run to run while the component does not change. When two persons merge, the one
    whose best identifier wins keeps its person_id.
    Recomputed fully each run: a merge can rewrite any earlier assignment.
-#}
with

web_identities as (

    select * from {{ ref('int_web_identities_deduplicated') }}

),

email_events as (

    select * from {{ ref('stg_sendgrid__events') }}

),

tickets as (

    select * from {{ ref('stg_zendesk__tickets') }}

),

zendesk_users as (

    select * from {{ ref('stg_zendesk__users') }}

),

edges as (

    select * from {{ ref('int_identity_edges') }}

),

nodes as (

    select '1:' || user_id as node from web_identities where user_id is not null
    union
    select '2:' || email from web_identities where email is not null
    union
    select '3:' || anonymous_id from web_identities where anonymous_id is not null
    union
    select src from edges
    union
    select '2:' || email from email_events where email is not null
    union
    select '4:' || requester_key from tickets where requester_key is not null
    union
    select '4:' || zendesk_user_key from zendesk_users
    union
    select '2:' || email from zendesk_users where email is not null

),

components as (

    {{ lifecycle.connected_components('nodes', 'edges') }}

),

typed as (

    select
        case left(node, 1)
            when '1' then 'user_id'
            when '2' then 'email'
            when '3' then 'anonymous_id'
            when '4' then 'zendesk_user_id'
        end as identifier_type,
        substr(node, 3) as identifier_value,
        case left(label, 1)
            when '1' then 'user_id'
            when '2' then 'email'
            when '3' then 'anonymous_id'
            when '4' then 'zendesk_user_id'
        end as person_identifier_type,
        substr(label, 3) as person_identifier_value,
        node as node_key,
        label as component_label
    from components

),

final as (

    select
        identifier_type,
        identifier_value,
        {{ lifecycle.person_id_from('person_identifier_type', 'person_identifier_value') }} as person_id,
        person_identifier_type,
        person_identifier_value,
        node_key,
        component_label
    from typed

)

select * from final
