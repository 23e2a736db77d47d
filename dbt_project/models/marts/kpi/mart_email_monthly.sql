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
        {{ kpi_email_rollup_typed_columns() }}
    from rollup

)

select * from final
