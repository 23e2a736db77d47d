{#-
    The person of every identifier combination seen on Segment messages (one row per identity_key).
    The userId decides first, then the email, then the anonymousId: on a shared device the
    anonymousId has its own component, and a message that also carries a userId belongs to that
    user. Rebuilt each run (a few hundred thousand rows): an identity merge moves every earlier
    message of a combination at once, without rewriting a single event row.
-#}
with

web_identities as (

    select * from {{ ref('int_web_identities_deduplicated') }}

),

identity_map as (

    select * from {{ ref('int_identity_map') }}

),

final as (

    select
        web_identities.identity_key,
        coalesce(by_user.person_id, by_email.person_id, by_anonymous.person_id) as person_id
    from web_identities
    left join identity_map as by_user
        on by_user.identifier_type = 'user_id' and by_user.identifier_value = web_identities.user_id
    left join identity_map as by_email
        on by_email.identifier_type = 'email' and by_email.identifier_value = web_identities.email
    left join identity_map as by_anonymous
        on by_anonymous.identifier_type = 'anonymous_id'
        and by_anonymous.identifier_value = web_identities.anonymous_id

)

select * from final
