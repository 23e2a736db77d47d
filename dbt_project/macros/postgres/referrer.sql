{#- PostgreSQL version of macros/referrer.sql's url_host: substring(... from regex) returns the
    first capture group, like DuckDB's regexp_extract(..., 1); no match is NULL on both. -#}
{% macro postgres__url_host(column) -%}
    nullif(lower(substring({{ column }} from '^[a-zA-Z][a-zA-Z0-9+.-]*://(?:www\.)?([^/:?#]+)')), '')
{%- endmacro %}
