{#- PostgreSQL version of macros/identity.sql's email check: an anchored ARE match with the same
    pattern text as DuckDB's regexp_full_match (RE2) and flows.email_rule.EMAIL_PATTERN. -#}
{% macro postgres__is_valid_email(expr) -%}
    coalesce(({{ expr }}) ~ {{ lifecycle.email_valid_pattern() }}, false)
{%- endmacro %}
