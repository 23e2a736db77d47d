{#- Orders and net revenue per order month and last-touch channel (rolled up from mart_order_last_touch). -#}
with

order_touches as (

    select * from {{ ref('mart_order_last_touch') }}

),

assembled as (

    select
        cast({{ dbt.date_trunc('month', 'ordered_at') }} as date) as month,
        source,
        medium,
        campaign,
        count(*) as orders,
        sum(case when order_number = 1 then 1 else 0 end) as first_orders,
        sum(net_revenue) as net_revenue
    from order_touches
    group by 1, 2, 3, 4

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(month as date) as month,
        cast(source as {{ lifecycle.text_type() }}) as source,
        cast(medium as {{ lifecycle.text_type() }}) as medium,
        cast(campaign as {{ lifecycle.text_type() }}) as campaign,
        cast(orders as bigint) as orders,
        cast(first_orders as bigint) as first_orders,
        cast(net_revenue as decimal(18,2)) as net_revenue
    from assembled

)

select * from final
