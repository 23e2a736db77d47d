{#-
    Consecutive calendar days from `start_date` to `end_date` (SQL expressions, e.g. scalar
    subqueries), as a select of one `day` column. KPI marts use it so a period without activity is
    a row of zeros, not a missing row. Built from a cross join of digits (no recursion, no
    engine-specific generate_series), so it runs on DuckDB and PostgreSQL alike; up to 10,000 days.
-#}
{% macro kpi_day_spine(start_date, end_date) -%}
    select cast({{ start_date }} as date) + offsets.n as day
    from (
        select ones.n + 10 * tens.n + 100 * hundreds.n + 1000 * thousands.n as n
        from (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) as ones (n)
        cross join (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) as tens (n)
        cross join (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) as hundreds (n)
        cross join (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) as thousands (n)
    ) as offsets
    where cast({{ start_date }} as date) + offsets.n <= cast({{ end_date }} as date)
{%- endmacro %}
