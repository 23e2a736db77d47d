{#-
    SPEC 7: "A rate with a zero denominator is NULL, never 0 and never an error."
    Every KPI rate goes through this macro so the rule holds in one place. The cast makes integer
    counts divide as floating point on every engine (PostgreSQL would truncate int / int).
-#}
{% macro kpi_safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as {{ lifecycle.double_type() }}) / nullif({{ denominator }}, 0))
{%- endmacro %}

{#-
    Generic data test for a KPI rate column: never negative, at most 1 (unless `at_most_one` is
    false), NULL exactly when its denominator is 0 (or NULL). `denominator` is a column (or
    expression) of the same model.
    Example in a _models.yml: `- kpi_rate: {arguments: {denominator: delivered}}`.

    Email rates pass `at_most_one: false` and carry `kpi_rate_at_most_one` (a warning) instead:
    their numerator is not a subset of their denominator by construction. An open whose delivered
    event was quarantined (bad timestamp), or a click with images blocked (no open pixel), gives a
    campaign with more opens than deliveries, and SPEC 7's rate is then above 1. That is a fact of
    the input, worth a warning; as an error it blocked every later build (DECISIONS.md).
-#}
{% test kpi_rate(model, column_name, denominator, at_most_one=true) %}

select *
from {{ model }}
where
    ({{ column_name }} is not null and {{ column_name }} < 0)
    {%- if at_most_one %}
    or ({{ column_name }} is not null and {{ column_name }} > 1)
    {%- endif %}
    or (coalesce({{ denominator }}, 0) = 0 and {{ column_name }} is not null)
    or (coalesce({{ denominator }}, 0) <> 0 and {{ column_name }} is null)

{% endtest %}

{% test kpi_rate_at_most_one(model, column_name) %}
{{ config(severity = 'warn') }}

select *
from {{ model }}
where {{ column_name }} > 1

{% endtest %}
