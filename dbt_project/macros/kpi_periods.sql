{#-
    The period grains of the KPI marts that report day, week and month in one table (column
    period_grain; weeks start on Monday, ISO): mart_funnel and mart_revenue.
-#}

{#-
    Every period of each grain from `start_date` to `end_date` (SQL expressions, as for
    kpi_day_spine), as a select of (period_grain, period_start): the rows a mart left-joins its
    measures to, so a period without activity is a row of zeros, not a missing row.
-#}
{% macro kpi_period_spine(start_date, end_date, grains=['day', 'week', 'month']) -%}
    with days as (

        {{ kpi_day_spine(start_date, end_date) }}

    )

    {% for grain in grains %}
        select distinct
            '{{ grain }}' as period_grain,
            cast({{ dbt.date_trunc(grain, 'day') }} as date) as period_start
        from days
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
{%- endmacro %}

{#-
    The rows of `relation` grouped by the period of `time_column` at each grain, as a select of
    (period_grain, period_start, measures). The measures are the body of a call block, given the
    grain: `{% call(grain) kpi_per_period('orders', 'ordered_at') %} count(*) as orders
    {% endcall %}`.
-#}
{% macro kpi_per_period(relation, time_column, grains=['day', 'week', 'month']) -%}
    {% for grain in grains %}
        select
            '{{ grain }}' as period_grain,
            cast({{ dbt.date_trunc(grain, time_column) }} as date) as period_start,
            {{ caller(grain) }}
        from {{ relation }}
        group by 1, 2
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
{%- endmacro %}
