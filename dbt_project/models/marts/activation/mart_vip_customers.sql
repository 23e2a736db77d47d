{#-
    SPEC 8 vip: customers in the loyalty stage or in the RFM champions segment (SPEC 7 RFM).
    vip_reason says which rule holds (loyalty, champions or both).
-#}
with

persons as (

    select * from {{ ref('dim_persons') }}

),

rfm as (

    select * from {{ ref('mart_rfm') }}

),

assembled as (

    select
        persons.person_id,
        persons.email,
        persons.name,
        persons.lifecycle_stage,
        rfm.segment as rfm_segment,
        rfm.rfm_cell,
        case
            when persons.lifecycle_stage = 'loyalty' and rfm.segment = 'champions' then 'loyalty+champions'
            when persons.lifecycle_stage = 'loyalty' then 'loyalty'
            else 'champions'
        end as vip_reason,
        persons.order_count,
        persons.net_revenue,
        persons.last_order_at,
        persons.as_of
    from persons
    left join rfm on persons.person_id = rfm.person_id
    where persons.lifecycle_stage = 'loyalty' or rfm.segment = 'champions'

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(person_id as {{ lifecycle.text_type() }}) as person_id,
        cast(email as {{ lifecycle.text_type() }}) as email,
        cast(name as {{ lifecycle.text_type() }}) as name,
        cast(lifecycle_stage as {{ lifecycle.text_type() }}) as lifecycle_stage,
        cast(rfm_segment as {{ lifecycle.text_type() }}) as rfm_segment,
        cast(rfm_cell as {{ lifecycle.text_type() }}) as rfm_cell,
        cast(vip_reason as {{ lifecycle.text_type() }}) as vip_reason,
        cast(order_count as bigint) as order_count,
        cast(net_revenue as decimal(18,2)) as net_revenue,
        cast(last_order_at as timestamp) as last_order_at,
        cast(as_of as timestamp) as as_of
    from assembled

)

select * from final
