{#-
    SPEC 8 upsell: customers whose highest-tier product has an upgrade_to_product_id they have not
    bought, and who opened or clicked an email, or viewed that upgrade, in the last
    upsell_engagement_days (30) before as_of. The highest-tier product is the owned product with
    the highest tier (ties: the most recently bought, then product id). Leaves out suppressed
    addresses, open high/urgent tickets and a bad CSAT within bad_csat_suppression_days.
-#}
with

persons as (

    select * from {{ ref('dim_persons') }}

),

order_items as (

    select * from {{ ref('fct_order_items') }}

),

products as (

    select * from {{ ref('products') }}

),

email_events as (

    select * from {{ ref('fct_email_events') }}

),

web_events as (

    select * from {{ ref('fct_web_events') }}

),

as_of as (

    select {{ lifecycle_as_of() }} as as_of

),

owned as (

    select
        order_items.person_id,
        order_items.product_id,
        max(order_items.ordered_at) as last_bought_at
    from order_items
    where order_items.person_id is not null and order_items.product_id is not null
    group by order_items.person_id, order_items.product_id

),

owned_ranked as (

    select
        owned.person_id,
        owned.product_id,
        products.name as product_name,
        products.tier,
        products.upgrade_to_product_id,
        row_number() over (
            partition by owned.person_id
            order by products.tier desc, owned.last_bought_at desc, owned.product_id asc
        ) as tier_rank
    from owned
    inner join products on owned.product_id = products.product_id

),

upgrade_paths as (

    select
        owned_ranked.person_id,
        owned_ranked.product_id as current_product_id,
        owned_ranked.product_name as current_product_name,
        owned_ranked.tier as current_tier,
        upgrade.product_id as recommended_product_id,
        upgrade.name as recommended_product_name,
        upgrade.tier as recommended_tier,
        upgrade.price as recommended_product_price
    from owned_ranked
    inner join products as upgrade on owned_ranked.upgrade_to_product_id = upgrade.product_id
    left join owned as already_owned
        on
            owned_ranked.person_id = already_owned.person_id
            and owned_ranked.upgrade_to_product_id = already_owned.product_id
    where owned_ranked.tier_rank = 1 and already_owned.person_id is null

),

engagements as (

    select
        email_events.person_id,
        email_events.event_at as engaged_at,
        cast(null as {{ dbt.type_string() }}) as product_id,
        'email_' || email_events.event as engagement
    from email_events
    cross join as_of
    where
        email_events.event in ('open', 'click')
        and email_events.person_id is not null
        and email_events.event_at <= as_of.as_of
        and email_events.event_at > {{ dbt.dateadd('day', -1 * var('upsell_engagement_days'), 'as_of.as_of') }}

    union all

    select
        web_events.person_id,
        web_events.event_at as engaged_at,
        web_events.product_id,
        'viewed_upgrade' as engagement
    from web_events
    cross join as_of
    where
        web_events.event = 'Product Viewed'
        and web_events.person_id is not null
        and web_events.event_at <= as_of.as_of
        and web_events.event_at > {{ dbt.dateadd('day', -1 * var('upsell_engagement_days'), 'as_of.as_of') }}

),

engaged as (

    select
        upgrade_paths.person_id,
        max(engagements.engaged_at) as last_engaged_at,
        max(case when engagements.engagement = 'viewed_upgrade' then 1 else 0 end) = 1 as viewed_upgrade
    from upgrade_paths
    inner join engagements
        on
            upgrade_paths.person_id = engagements.person_id
            and (
                engagements.engagement <> 'viewed_upgrade'
                or upgrade_paths.recommended_product_id = engagements.product_id
            )
    group by upgrade_paths.person_id

),

assembled as (

    select
        upgrade_paths.person_id,
        persons.email,
        persons.name,
        upgrade_paths.current_product_id,
        upgrade_paths.current_product_name,
        upgrade_paths.current_tier,
        upgrade_paths.recommended_product_id,
        upgrade_paths.recommended_product_name,
        upgrade_paths.recommended_tier,
        upgrade_paths.recommended_product_price,
        engaged.last_engaged_at,
        engaged.viewed_upgrade,
        as_of.as_of
    from upgrade_paths
    inner join engaged on upgrade_paths.person_id = engaged.person_id
    inner join persons on upgrade_paths.person_id = persons.person_id
    cross join as_of
    where
        not persons.is_email_suppressed
        and coalesce(persons.open_high_urgent_tickets, 0) = 0
        and (
            persons.last_bad_csat_at is null
            or persons.last_bad_csat_at
            < {{ dbt.dateadd('day', -1 * var('bad_csat_suppression_days'), 'as_of.as_of') }}
        )

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(person_id as {{ lifecycle.text_type() }}) as person_id,
        cast(email as {{ lifecycle.text_type() }}) as email,
        cast(name as {{ lifecycle.text_type() }}) as name,
        cast(current_product_id as {{ lifecycle.text_type() }}) as current_product_id,
        cast(current_product_name as {{ lifecycle.text_type() }}) as current_product_name,
        cast(current_tier as integer) as current_tier,
        cast(recommended_product_id as {{ lifecycle.text_type() }}) as recommended_product_id,
        cast(recommended_product_name as {{ lifecycle.text_type() }}) as recommended_product_name,
        cast(recommended_tier as integer) as recommended_tier,
        cast(recommended_product_price as integer) as recommended_product_price,
        cast(last_engaged_at as timestamp) as last_engaged_at,
        cast(viewed_upgrade as boolean) as viewed_upgrade,
        cast(as_of as timestamp) as as_of
    from assembled

)

select * from final
