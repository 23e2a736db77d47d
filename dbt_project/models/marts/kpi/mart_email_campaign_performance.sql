{#- Email KPIs per campaign over its whole life up to as_of (SPEC 7); definitions in macro kpi_email_rollup. -#}
{{ kpi_email_rollup(by_month=false) }}
