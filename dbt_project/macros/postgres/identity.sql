{#- PostgreSQL version of macros/identity.sql's email check: an anchored POSIX regex is the same
    test as DuckDB's regexp_full_match (RE2) for this pattern. -#}
{% macro postgres__is_valid_email(expr) -%}
    coalesce(({{ expr }}) ~ '^[^@\s]+@[^@\s]+\.[^@\s.]+$', false)
{%- endmacro %}
