{#-
    Identity graph edges (SPEC 5): two identifiers seen on one message or record, in both
    directions, after the guard rails:
    - blocked values are already NULL from staging (macro clean_identifier / normalize_email);
    - an anonymousId seen with more than var('max_users_per_anonymous_id') distinct userIds is a
      shared device: it stays a node but links nothing.
    Node keys encode the identifier type's preference ('1:' userId, '2:' email, '3:' anonymousId,
    '4:' Zendesk user id) so the smallest key of a component is its best identifier.
-#}
with

segment_messages as (

    select * from {{ ref('stg_segment__events') }}

),

zendesk_users as (

    select * from {{ ref('stg_zendesk__users') }}

),

known_user_ids as (

    select distinct user_id from segment_messages where user_id is not null

),

shared_devices as (

    select anonymous_id
    from segment_messages
    where anonymous_id is not null and user_id is not null
    group by anonymous_id
    having count(distinct user_id) > {{ var('max_users_per_anonymous_id') }}

),

segment_occurrences as (

    select 'seg:' || message_id as record_key, '1:' || user_id as node, true as is_linkable
    from segment_messages where user_id is not null
    union all
    select 'seg:' || message_id, '2:' || email, true
    from segment_messages where email is not null
    union all
    select
        'seg:' || message_id,
        '3:' || segment_messages.anonymous_id,
        shared_devices.anonymous_id is null
    from segment_messages
    left join shared_devices on shared_devices.anonymous_id = segment_messages.anonymous_id
    where segment_messages.anonymous_id is not null

),

-- alias: previousId is a userId when it is known as one, otherwise an anonymousId.
alias_occurrences as (

    select
        'seg:' || segment_messages.message_id as record_key,
        case
            when known_user_ids.user_id is not null then '1:'
            else '3:'
        end || segment_messages.previous_id as node,
        known_user_ids.user_id is not null or shared_devices.anonymous_id is null as is_linkable
    from segment_messages
    left join known_user_ids on known_user_ids.user_id = segment_messages.previous_id
    left join shared_devices on shared_devices.anonymous_id = segment_messages.previous_id
    where segment_messages.type = 'alias' and segment_messages.previous_id is not null

),

zendesk_occurrences as (

    select 'zd:' || zendesk_user_key as record_key, '4:' || zendesk_user_key as node, true as is_linkable
    from zendesk_users
    union all
    select 'zd:' || zendesk_user_key, '2:' || email, true
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
