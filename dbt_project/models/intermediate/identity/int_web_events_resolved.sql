{#-
    Every Segment message with its person. The userId decides first, then the email, then the
    anonymousId: on a shared device the anonymousId has its own component, and a message that also
    carries a userId belongs to that user. Messages whose identifiers are all blocked have no
    person (person_id NULL) but are kept. A full rebuild (cheap: one hash join per identifier
    type) because identity merges can move old events to another person.
-#}
with

messages as (

    select * from {{ ref('stg_segment__events') }}

),

identity_map as (

    select * from {{ ref('int_identity_map') }}

),

resolved as (

    select
        messages.message_id,
        coalesce(by_user.person_id, by_email.person_id, by_anonymous.person_id) as person_id,
        messages.type,
        messages.original_type,
        messages.event,
        messages.event_at,
        messages.anonymous_id,
        messages.user_id,
        messages.email,
        messages.name,
        messages.phone,
        messages.utm_source,
        messages.utm_medium,
        messages.utm_campaign,
        messages.utm_term,
        messages.utm_content,
        messages.page_url,
        messages.page_path,
        messages.referrer,
        {{ lifecycle.url_host('messages.referrer') }} as referrer_host,
        messages.order_id,
        messages.order_total,
        messages.currency,
        messages.product_id,
        messages.product_sku,
        messages.products,
        messages._loaded_at
    from messages
    left join identity_map as by_user
        on by_user.identifier_type = 'user_id' and by_user.identifier_value = messages.user_id
    left join identity_map as by_email
        on by_email.identifier_type = 'email' and by_email.identifier_value = messages.email
    left join identity_map as by_anonymous
        on by_anonymous.identifier_type = 'anonymous_id'
        and by_anonymous.identifier_value = messages.anonymous_id

),

-- A referrer on the site's own host is internal navigation, not a source (no class).
classified as (

    select
        *,
        {{ lifecycle.url_host('page_url') }} as page_host
    from resolved

),

final as (

    select
        *,
        case
            when referrer_host is distinct from page_host then {{ lifecycle.referrer_class('referrer_host') }}
        end as referrer_class
    from classified

)

select * from final
