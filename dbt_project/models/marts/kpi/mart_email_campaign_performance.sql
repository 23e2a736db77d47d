{#- Email KPIs per campaign over its whole life up to as_of (SPEC 7); definitions in macro kpi_email_rollup. -#}
with

rollup as (

{{ kpi_email_rollup(by_month=false) }}

),

-- Contract types (BI-friendly, the same on DuckDB and PostgreSQL): see the yml data_type.
final as (

    select
        {{ kpi_email_rollup_typed_columns() }}
    from rollup

)

select * from final
