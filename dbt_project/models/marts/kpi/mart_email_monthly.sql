{#-
    Email KPIs per month and campaign (SPEC 7); definitions in macro kpi_email_rollup. Counts of a
    month are the events of that month, so a campaign sent in March and opened in May has May opens
    and no May deliveries (May open rate NULL). Monthly totals over campaigns: sum the counts.
-#}
{{ kpi_email_rollup(by_month=true) }}
