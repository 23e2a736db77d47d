{#-
    Identity graph edges (SPEC 5): two identifiers seen on one message or record, in both
    directions, after the guard rails:
    - blocked values are already NULL from staging (macro clean_identifier / normalize_email);
    - an anonymousId seen with more than var('max_users_per_anonymous_id') distinct userIds is a
      shared device: it stays a node but links nothing.
    Node keys encode the identifier type's preference ('1:' userId, '2:' email, '3:' anonymousId,
    '4:' Zendesk user id) so the smallest key of a component is its best identifier.
    Segment records are the distinct identifier combinations (int_web_identities_deduplicated):
    the same edges as one record per message, from far fewer rows.
-#}
with

web_identities as (

    select * from {{ ref('int_web_identities_deduplicated') }}

),

zendesk_users as (

    select * from {{ ref('stg_zendesk__users') }}

),

known_user_ids as (

    select distinct user_id from web_identities where user_id is not null

),

shared_devices as (

    select anonymous_id
    from web_identities
    where anonymous_id is not null and user_id is not null
    group by anonymous_id
    having count(distinct user_id) > {{ var('max_users_per_anonymous_id') }}

),

segment_occurrences as (

    select 'seg:' || identity_key as record_key, '1:' || user_id as node, true as is_linkable
    from web_identities where user_id is not null
    union all
    select 'seg:' || identity_key as record_key, '2:' || email as node, true as is_linkable
    from web_identities where email is not null
    union all
    select
        'seg:' || identity_key as record_key,
        '3:' || web_identities.anonymous_id as node,
        shared_devices.anonymous_id is null as is_linkable
    from web_identities
    left join shared_devices on shared_devices.anonymous_id = web_identities.anonymous_id
    where web_identities.anonymous_id is not null

),

-- alias: previousId is a userId when it is known as one, otherwise an anonymousId.
alias_occurrences as (

    select
        'seg:' || web_identities.identity_key as record_key,
        case
            when known_user_ids.user_id is not null then '1:'
            else '3:'
        end || web_identities.alias_previous_id as node,
        known_user_ids.user_id is not null or shared_devices.anonymous_id is null as is_linkable
    from web_identities
    left join known_user_ids on known_user_ids.user_id = web_identities.alias_previous_id
    left join shared_devices on shared_devices.anonymous_id = web_identities.alias_previous_id
    where web_identities.alias_previous_id is not null

),

zendesk_occurrences as (

    select 'zd:' || zendesk_user_key as record_key, '4:' || zendesk_user_key as node, true as is_linkable
    from zendesk_users
    union all
    select 'zd:' || zendesk_user_key as record_key, '2:' || email as node, true as is_linkable
    from zendesk_users where email is not null

),

occurrences as (

    select * from segment_occurrences
    union all
    select * from alias_occurrences
    union all
    select * from zendesk_occurrences

),

linkable as (

    select distinct record_key, node from occurrences where is_linkable

),

one_direction as (

    select distinct
        left_side.node as src,
        right_side.node as dst
    from linkable as left_side
    inner join linkable as right_side
        on right_side.record_key = left_side.record_key
        and right_side.node > left_side.node

),

final as (

    select src, dst from one_direction
    union
    select dst as src, src as dst from one_direction

)

select * from final
