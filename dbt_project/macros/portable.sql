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

{#- Type names the models cast to that Spark spells differently (issue 23): Spark has no bare
    `varchar` (it wants a length; `string` is its text type) and no `double precision` (`double`).
    DuckDB and PostgreSQL get exactly the text the models had before. -#}
{% macro text_type() -%}
    {{ return(adapter.dispatch('text_type', 'lifecycle')()) }}
{%- endmacro %}

{% macro default__text_type() -%}
    varchar
{%- endmacro %}

{% macro double_type() -%}
    {{ return(adapter.dispatch('double_type', 'lifecycle')()) }}
{%- endmacro %}

{% macro default__double_type() -%}
    double precision
{%- endmacro %}

{#- Every match of `pattern` in `expr` replaced (DuckDB and PostgreSQL need the 'g' flag for that;
    Spark's regexp_replace always replaces all and reads a fourth argument as a position). -#}
{% macro regexp_replace_all(expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'lifecycle')(expr, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regexp_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, {{ pattern }}, {{ replacement }}, 'g')
{%- endmacro %}

{#- A naive timestamp (UTC) from unix seconds (a double). DuckDB and PostgreSQL's to_timestamp gives
    a timestamptz, read in UTC; Spark's timestamp_seconds is already the instant. -#}
{% macro utc_timestamp_from_epoch(seconds) -%}
    {{ return(adapter.dispatch('utc_timestamp_from_epoch', 'lifecycle')(seconds)) }}
{%- endmacro %}

{% macro default__utc_timestamp_from_epoch(seconds) -%}
    (to_timestamp({{ seconds }}) at time zone 'UTC')
{%- endmacro %}

{#- `expr` without the leading characters in `chars` (a SQL string). Spark's two-argument ltrim
    takes the characters FIRST, so the same call would trim the other way round there. -#}
{% macro ltrim_chars(expr, chars) -%}
    {{ return(adapter.dispatch('ltrim_chars', 'lifecycle')(expr, chars)) }}
{%- endmacro %}

{% macro default__ltrim_chars(expr, chars) -%}
    ltrim({{ expr }}, {{ chars }})
{%- endmacro %}

{#- The first row per `key` in `order_by` order (PostgreSQL's and DuckDB's DISTINCT ON), as a call
    block around the FROM ... WHERE part:
    `{% call lifecycle.distinct_on('person_id', 'person_id, email', 'seen_at desc, email') %}
        from emails_seen {% endcall %}`. `columns` is the select list, `order_by` what follows the
    key in the ORDER BY. -#}
{% macro distinct_on(key, columns, order_by) -%}
    {{ return(adapter.dispatch('distinct_on', 'lifecycle')(key, columns, order_by, caller())) }}
{%- endmacro %}

{% macro default__distinct_on(key, columns, order_by, body) -%}
    select distinct on ({{ key }}) {{ columns }}
    {{ body }}
    order by {{ key }}, {{ order_by }}
{%- endmacro %}

{#- SQL-standard startswith (PostgreSQL, DuckDB: starts_with). -#}
{% macro starts_with(expr, prefix) -%}
    {{ return(adapter.dispatch('starts_with', 'lifecycle')(expr, prefix)) }}
{%- endmacro %}

{% macro default__starts_with(expr, prefix) -%}
    starts_with({{ expr }}, {{ prefix }})
{%- endmacro %}

{#- 1-based position of `sub` in `expr`, 0 when absent (PostgreSQL's and DuckDB's strpos). -#}
{% macro strpos(expr, sub) -%}
    {{ return(adapter.dispatch('strpos', 'lifecycle')(expr, sub)) }}
{%- endmacro %}

{% macro default__strpos(expr, sub) -%}
    strpos({{ expr }}, {{ sub }})
{%- endmacro %}
