{#-
    Last-touch attribution per order (SPEC 7): the person's last marketing touch (UTM web message or
    email click) in the attribution_window_days (30) before the order, up to the order itself. An
    order without one is credited to direct (has_touch = false).
-#}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

touches as (

    select * from {{ ref('int_marketing_touches_unioned') }}

),

touches_in_window as (

    select
        orders.order_id,
        touches.touched_at,
        touches.touch_type,
        touches.source,
        touches.medium,
        touches.campaign,
        row_number() over (
            partition by orders.order_id
            order by touches.touched_at desc, touches.touch_type asc, touches.touch_id asc
        ) as recency_rank
    from orders
    inner join touches
        on
            orders.person_id = touches.person_id
            and orders.ordered_at >= touches.touched_at
            and touches.touched_at
            >= {{ dbt.dateadd('day', -1 * var('attribution_window_days'), 'orders.ordered_at') }}

),

last_touches as (

    select * from touches_in_window where recency_rank = 1

),

assembled as (

    select
        orders.order_id,
        orders.person_id,
        orders.ordered_at,
        orders.order_number,
        orders.net_revenue,
        last_touches.order_id is not null as has_touch,
        coalesce(last_touches.source, 'direct') as source,
        coalesce(last_touches.medium, 'direct') as medium,
        coalesce(last_touches.campaign, '(none)') as campaign,
        last_touches.touch_type,
        last_touches.touched_at
    from orders
    left join last_touches on orders.order_id = last_touches.order_id

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(order_id as {{ lifecycle.text_type() }}) as order_id,
        cast(person_id as {{ lifecycle.text_type() }}) as person_id,
        cast(ordered_at as timestamp) as ordered_at,
        cast(order_number as bigint) as order_number,
        cast(net_revenue as decimal(18,2)) as net_revenue,
        cast(has_touch as boolean) as has_touch,
        cast(source as {{ lifecycle.text_type() }}) as source,
        cast(medium as {{ lifecycle.text_type() }}) as medium,
        cast(campaign as {{ lifecycle.text_type() }}) as campaign,
        cast(touch_type as {{ lifecycle.text_type() }}) as touch_type,
        cast(touched_at as timestamp) as touched_at
    from assembled

)

select * from final
