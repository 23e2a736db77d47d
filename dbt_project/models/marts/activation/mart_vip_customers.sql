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

final as (

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

)

select * from final
