{#- Orders and net revenue per order month and last-touch channel (rolled up from mart_order_last_touch). -#}
with

order_touches as (

    select * from {{ ref('mart_order_last_touch') }}

),

final as (

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

)

select * from final
