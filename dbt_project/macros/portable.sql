{#-
    Small dispatched helpers for functions DuckDB has built in and other engines spell differently.
    PostgreSQL versions live in macros/postgres/ (contracts documented there).
-#}

{#- NULL instead of an error when `expr` does not convert to `type`. -#}
{% macro try_cast(expr, type) -%}
    {{ return(adapter.dispatch('try_cast', 'lifecycle')(expr, type)) }}
{%- endmacro %}

{% macro duckdb__try_cast(expr, type) -%}
    try_cast({{ expr }} as {{ type }})
{%- endmacro %}

{% macro default__try_cast(expr, type) -%}
    {{ exceptions.raise_compiler_error("try_cast is not implemented for adapter " ~ adapter.type()) }}
{%- endmacro %}

{#- The value on the row with the largest `order_by` (rows with NULL `order_by` ignored),
    optionally over the rows where `where` holds. -#}
{% macro max_by(value, order_by, where=none) -%}
    {{ return(adapter.dispatch('max_by', 'lifecycle')(value, order_by, where)) }}
{%- endmacro %}

{% macro duckdb__max_by(value, order_by, where=none) -%}
    max_by({{ value }}, {{ order_by }}){% if where %} filter (where {{ where }}){% endif %}
{%- endmacro %}

{% macro default__max_by(value, order_by, where=none) -%}
    {{ exceptions.raise_compiler_error("max_by is not implemented for adapter " ~ adapter.type()) }}
{%- endmacro %}

{% macro min_by(value, order_by, where=none) -%}
    {{ return(adapter.dispatch('min_by', 'lifecycle')(value, order_by, where)) }}
{%- endmacro %}

{% macro duckdb__min_by(value, order_by, where=none) -%}
    min_by({{ value }}, {{ order_by }}){% if where %} filter (where {{ where }}){% endif %}
{%- endmacro %}

{% macro default__min_by(value, order_by, where=none) -%}
    {{ exceptions.raise_compiler_error("min_by is not implemented for adapter " ~ adapter.type()) }}
{%- endmacro %}

{#- Exact seconds from `start_ts` to `end_ts` as a double, fractions of a second included (issue 24).
    dbt.datediff(..., 'second') counts second BOUNDARIES crossed (00:00:00.900 to 00:00:01.100 is 1),
    so fractional days or weeks built on it are cut to whole seconds. Divide by 86400.0 for days,
    604800.0 for weeks. NULL when either side is NULL. -#}
{% macro seconds_between(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('seconds_between', 'lifecycle')(start_ts, end_ts)) }}
{%- endmacro %}

{% macro duckdb__seconds_between(start_ts, end_ts) -%}
    (epoch_us({{ end_ts }}) - epoch_us({{ start_ts }})) / 1000000.0
{%- endmacro %}

{% macro default__seconds_between(start_ts, end_ts) -%}
    {{ exceptions.raise_compiler_error("seconds_between is not implemented for adapter " ~ adapter.type()) }}
{%- endmacro %}
