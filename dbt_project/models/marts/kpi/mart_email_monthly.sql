{#-
    Email KPIs per send month and campaign (SPEC 7); definitions in macro kpi_email_rollup. A
    message's events count in the month of its first event (its send month), so a campaign sent in
    March and opened in May counts those opens in March, and a month's rates describe that month's
    sends. Monthly totals over campaigns: sum the counts.
-#}
with

rollup as (

{{ kpi_email_rollup(by_month=true) }}

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        cast(month as date) as month,
        cast(campaign_name as varchar) as campaign_name,
        cast(campaign_id as varchar) as campaign_id,
        cast(processed as bigint) as processed,
        cast(delivered as bigint) as delivered,
        cast(bounces as bigint) as bounces,
        cast(drops as bigint) as drops,
        cast(deferrals as bigint) as deferrals,
        cast(opens as bigint) as opens,
        cast(unique_opens as bigint) as unique_opens,
        cast(clicks as bigint) as clicks,
        cast(unique_clicks as bigint) as unique_clicks,
        cast(unsubscribes as bigint) as unsubscribes,
        cast(unique_unsubscribes as bigint) as unique_unsubscribes,
        cast(spam_reports as bigint) as spam_reports,
        cast(attributed_orders as bigint) as attributed_orders,
        cast(attributed_revenue as decimal(18,2)) as attributed_revenue,
        cast(delivery_rate as double precision) as delivery_rate,
        cast(open_rate as double precision) as open_rate,
        cast(click_rate as double precision) as click_rate,
        cast(click_to_open_rate as double precision) as click_to_open_rate,
        cast(bounce_rate as double precision) as bounce_rate,
        cast(unsubscribe_rate as double precision) as unsubscribe_rate,
        cast(spam_rate as double precision) as spam_rate
    from rollup

)

select * from final
