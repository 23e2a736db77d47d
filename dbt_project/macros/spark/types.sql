{#- Spark versions of the type, regex and trim helpers in macros/portable.sql and macros/identity.sql.
    The session runs with spark.sql.parser.escapedStringLiterals=true (flows/portability/spark.py),
    so a backslash in a SQL string is a backslash, as on DuckDB and PostgreSQL, and the patterns
    reach Java's regex engine as written. -#}

{% macro spark__text_type() -%}
    string
{%- endmacro %}

{% macro spark__double_type() -%}
    double
{%- endmacro %}

{#- Spark's regexp_replace replaces every match; its fourth argument is a start position. -#}
{% macro spark__regexp_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, {{ pattern }}, {{ replacement }})
{%- endmacro %}

{#- The session time zone is UTC and timestamps are TIMESTAMP_NTZ (spark.sql.timestampType), so the
    instant of timestamp_seconds, cast to the session's timestamp type, is the naive UTC time. -#}
{% macro spark__utc_timestamp_from_epoch(seconds) -%}
    cast(timestamp_seconds({{ seconds }}) as timestamp)
{%- endmacro %}

{% macro spark__ltrim_chars(expr, chars) -%}
    trim(leading {{ chars }} from {{ expr }})
{%- endmacro %}

{#- try_cast: Spark has it; DuckDB's hugeint is a 38-digit decimal here. -#}
{% macro spark__try_cast(expr, type) -%}
    {%- set t = type | lower | trim -%}
    try_cast({{ expr }} as {{ 'decimal(38, 0)' if t == 'hugeint' else ('string' if t == 'varchar' else type) }})
{%- endmacro %}

{#- max_by / min_by ignore rows whose order_by is NULL on Spark as on DuckDB; the filter is a CASE
    on the order key, so rows outside `where` never win. -#}
{% macro spark__max_by(value, order_by, where=none) -%}
    {%- if where -%}
        max_by({{ value }}, case when {{ where }} then {{ order_by }} end)
    {%- else -%}
        max_by({{ value }}, {{ order_by }})
    {%- endif -%}
{%- endmacro %}

{% macro spark__min_by(value, order_by, where=none) -%}
    {%- if where -%}
        min_by({{ value }}, case when {{ where }} then {{ order_by }} end)
    {%- else -%}
        min_by({{ value }}, {{ order_by }})
    {%- endif -%}
{%- endmacro %}

{#- Exact seconds between two timestamps, microseconds included (contract in macros/portable.sql). -#}
{% macro spark__seconds_between(start_ts, end_ts) -%}
    ((unix_micros(cast({{ end_ts }} as timestamp_ltz)) - unix_micros(cast({{ start_ts }} as timestamp_ltz))) / 1000000.0)
{%- endmacro %}

{#- regex_group (macros/consent.sql): regexp_extract gives '' when there is no match, as DuckDB's. -#}
{% macro spark__regex_group(text, pattern) -%}
    nullif(regexp_extract({{ text }}, '{{ pattern }}', 1), '')
{%- endmacro %}

{#- The email check (macros/identity.sql): regexp_like finds a match anywhere, so the pattern's own
    ^ and $ anchor it to the whole value, like DuckDB's regexp_full_match. -#}
{% macro spark__is_valid_email(expr) -%}
    coalesce(regexp_like({{ expr }}, {{ lifecycle.email_valid_pattern() }}), false)
{%- endmacro %}

{#- url_host (macros/referrer.sql). -#}
{% macro spark__url_host(column) -%}
    nullif(lower(regexp_extract({{ column }}, '^[a-zA-Z][a-zA-Z0-9+.-]*://(?:www\.)?([^/:?#]+)', 1)), '')
{%- endmacro %}

{#- DISTINCT ON (macros/portable.sql): Spark has none, so the rows are ranked per key and the first
    kept; `except` drops the rank column again. -#}
{% macro spark__distinct_on(key, columns, order_by, body) -%}
    select * except (distinct_on_rank)
    from (
        select
            {{ columns }},
            row_number() over (partition by {{ key }} order by {{ order_by }}) as distinct_on_rank
        {{ body }}
    ) as distinct_on_rows
    where distinct_on_rank = 1
{%- endmacro %}

{% macro spark__starts_with(expr, prefix) -%}
    startswith({{ expr }}, {{ prefix }})
{%- endmacro %}

{#- dbt-spark's dateadd goes through unix seconds and to_timestamp, which gives NULL for the
    TIMESTAMP_NTZ values of this session; timestampadd keeps the type (a date becomes a timestamp,
    as on DuckDB). Overrides dbt's spark__dateadd (root-project macros come first). -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, cast({{ from_date_or_timestamp }} as timestamp))
{%- endmacro %}

{% macro spark__strpos(expr, sub) -%}
    instr({{ expr }}, {{ sub }})
{%- endmacro %}
