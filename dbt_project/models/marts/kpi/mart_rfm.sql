{#-
    RFM per customer as of as_of (SPEC 7). recency = calendar days from the last order's date to
    as_of's date (lower scores higher), frequency = orders, monetary = net revenue. Each score is
    ntile(5) over its metric with ties broken by person_id; the segment comes from the R and F
    scores by the SPEC table, first match wins.
-#}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

as_of as (

    select {{ lifecycle_as_of() }} as as_of

),

customers as (

    select
        orders.person_id,
        max(orders.ordered_at) as last_order_at,
        count(*) as frequency,
        sum(orders.net_revenue) as monetary
    from orders
    group by orders.person_id

),

metrics as (

    select
        customers.person_id,
        customers.last_order_at,
        {{ dbt.datediff('cast(customers.last_order_at as date)', 'cast(as_of.as_of as date)', 'day') }}
            as recency_days,
        customers.frequency,
        customers.monetary,
        as_of.as_of
    from customers
    cross join as_of

),

scored as (

    select
        *,
        ntile(5) over (order by recency_days desc, person_id asc) as r_score,
        ntile(5) over (order by frequency, person_id) as f_score,
        ntile(5) over (order by monetary, person_id) as m_score
    from metrics

),

assembled as (

    select
        person_id,
        last_order_at,
        recency_days,
        frequency,
        monetary,
        r_score,
        f_score,
        m_score,
        cast(r_score as {{ dbt.type_string() }})
        || cast(f_score as {{ dbt.type_string() }})
        || cast(m_score as {{ dbt.type_string() }}) as rfm_cell,
        case
            when r_score = 5 and f_score >= 4 then 'champions'
            when r_score in (3, 4) and f_score >= 4 then 'loyal'
            when r_score >= 4 and f_score in (2, 3) then 'potential_loyalist'
            when r_score = 5 and f_score = 1 then 'new_customer'
            when r_score = 4 and f_score = 1 then 'promising'
            when r_score = 3 and f_score = 3 then 'need_attention'
            when r_score = 3 and f_score <= 2 then 'about_to_sleep'
            when r_score <= 2 and f_score = 5 then 'cant_lose'
            when r_score <= 2 and f_score in (3, 4) then 'at_risk'
            when r_score <= 2 and f_score <= 2 then 'hibernating'
        end as segment,
        as_of
    from scored

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(person_id as {{ lifecycle.text_type() }}) as person_id,
        cast(last_order_at as timestamp) as last_order_at,
        cast(recency_days as bigint) as recency_days,
        cast(frequency as bigint) as frequency,
        cast(monetary as decimal(18,2)) as monetary,
        cast(r_score as bigint) as r_score,
        cast(f_score as bigint) as f_score,
        cast(m_score as bigint) as m_score,
        cast(rfm_cell as {{ lifecycle.text_type() }}) as rfm_cell,
        cast(segment as {{ lifecycle.text_type() }}) as segment,
        cast(as_of as timestamp) as as_of
    from assembled

)

select * from final
