{#-
    PostgreSQL implementations for dispatched macros the models need where DuckDB has a built-in
    PostgreSQL lacks. The dispatcher and the duckdb__ version belong in dbt_project/macros/ (owner of
    the core macros); the expected contracts are:

      try_cast(expr, type)                -> duckdb: try_cast(expr as type)
      max_by(value, order_by, where=none) -> duckdb: max_by(value, order_by) [filter (where ...)]
      min_by(value, order_by, where=none) -> duckdb: min_by(value, order_by) [filter (where ...)]
-#}

{#- try_cast: NULL instead of an error for text that is not a valid number. PostgreSQL 15 has no
    try_cast (nor pg_input_is_valid), so numeric targets are guarded by a regex of what the cast
    accepts; other types are cast directly (callers pass text that is already known-good). -#}
{% macro postgres__try_cast(expr, type) -%}
    {%- set t = type | lower | trim -%}
    {%- if t in ('integer', 'int', 'bigint', 'smallint', 'int4', 'int8', 'hugeint') -%}
        case
            when trim(cast({{ expr }} as text)) ~ '^[-+]?[0-9]{1,18}$'
                then cast(trim(cast({{ expr }} as text)) as {{ 'bigint' if t == 'hugeint' else type }})
        end
    {%- elif t.startswith('decimal') or t.startswith('numeric') or t in ('double', 'double precision', 'float', 'real') -%}
        case
            when trim(cast({{ expr }} as text)) ~ '^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$'
                then cast(trim(cast({{ expr }} as text)) as {{ 'double precision' if t == 'double' else type }})
        end
    {%- else -%}
        cast({{ expr }} as {{ type }})
    {%- endif -%}
{%- endmacro %}

{#- max_by / min_by: the value on the row with the largest / smallest `order_by`, ignoring rows
    whose `order_by` is NULL (as DuckDB does). Ties: DuckDB picks any row, so callers that need
    identical results on both engines must make `order_by` unique. -#}
{% macro postgres__max_by(value, order_by, where=none) -%}
    (array_agg({{ value }} order by {{ order_by }} desc) filter (
        where {{ order_by }} is not null{% if where %} and ({{ where }}){% endif %}
    ))[1]
{%- endmacro %}

{% macro postgres__min_by(value, order_by, where=none) -%}
    (array_agg({{ value }} order by {{ order_by }} asc) filter (
        where {{ order_by }} is not null{% if where %} and ({{ where }}){% endif %}
    ))[1]
{%- endmacro %}

{#- Exact seconds between two timestamps (contract in macros/portable.sql): the interval of a
    timestamp difference has days and microseconds only, so extract(epoch) is exact. -#}
{% macro postgres__seconds_between(start_ts, end_ts) -%}
    cast(extract(epoch from ({{ end_ts }} - {{ start_ts }})) as double precision)
{%- endmacro %}
