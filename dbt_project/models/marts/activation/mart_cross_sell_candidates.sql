{#-
    SPEC 8 cross_sell: for each customer, the product with the highest co-purchase lift among the
    products bought together with the ones they own (pairs meeting cross_sell_min_support, lift
    above 1 so the association is positive), that they do not own yet. One row per person; ties go
    to higher confidence, then support, then product id. Leaves out suppressed addresses, open
    high/urgent tickets and a bad CSAT within bad_csat_suppression_days (activation enforces the
    same again at sync time).
-#}
with

persons as (

    select * from {{ ref('dim_persons') }}

),

order_items as (

    select * from {{ ref('fct_order_items') }}

),

affinity as (

    select * from {{ ref('mart_product_affinity') }}
    where meets_min_support and lift > 1

),

owned as (

    select distinct
        person_id,
        product_id
    from order_items
    where person_id is not null and product_id is not null

),

eligible_persons as (

    select *
    from persons
    where
        not is_email_suppressed
        and coalesce(open_high_urgent_tickets, 0) = 0
        and (
            last_bad_csat_at is null
            or last_bad_csat_at < {{ dbt.dateadd('day', -1 * var('bad_csat_suppression_days'), 'as_of') }}
        )

),

recommendations as (

    select
        owned.person_id,
        owned.product_id as anchor_product_id,
        affinity.associated_product_id as recommended_product_id,
        affinity.associated_product_name as recommended_product_name,
        affinity.associated_product_category as recommended_product_category,
        affinity.associated_product_price as recommended_product_price,
        affinity.support,
        affinity.confidence,
        affinity.lift
    from owned
    inner join affinity on owned.product_id = affinity.product_id
    left join owned as already_owned
        on
            owned.person_id = already_owned.person_id
            and affinity.associated_product_id = already_owned.product_id
    where already_owned.person_id is null

),

ranked as (

    select
        *,
        row_number() over (
            partition by person_id
            order by lift desc, confidence desc, support desc, recommended_product_id asc, anchor_product_id asc
        ) as recommendation_rank
    from recommendations

),

assembled as (

    select
        ranked.person_id,
        eligible_persons.email,
        eligible_persons.name,
        ranked.anchor_product_id,
        ranked.recommended_product_id,
        ranked.recommended_product_name,
        ranked.recommended_product_category,
        ranked.recommended_product_price,
        ranked.support,
        ranked.confidence,
        ranked.lift,
        eligible_persons.as_of
    from ranked
    inner join eligible_persons on ranked.person_id = eligible_persons.person_id
    where ranked.recommendation_rank = 1

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(person_id as {{ lifecycle.text_type() }}) as person_id,
        cast(email as {{ lifecycle.text_type() }}) as email,
        cast(name as {{ lifecycle.text_type() }}) as name,
        cast(anchor_product_id as {{ lifecycle.text_type() }}) as anchor_product_id,
        cast(recommended_product_id as {{ lifecycle.text_type() }}) as recommended_product_id,
        cast(recommended_product_name as {{ lifecycle.text_type() }}) as recommended_product_name,
        cast(recommended_product_category as {{ lifecycle.text_type() }}) as recommended_product_category,
        cast(recommended_product_price as integer) as recommended_product_price,
        cast(support as {{ lifecycle.double_type() }}) as support,
        cast(confidence as {{ lifecycle.double_type() }}) as confidence,
        cast(lift as {{ lifecycle.double_type() }}) as lift,
        cast(as_of as timestamp) as as_of
    from assembled

)

select * from final
