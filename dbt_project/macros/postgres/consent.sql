{#- PostgreSQL version of macros/consent.sql's regex_group: regexp_match returns the capture
    groups as an array (NULL when there is no match); the patterns passed are in the common subset
    of RE2 and PostgreSQL AREs. -#}
{% macro postgres__regex_group(text, pattern) -%}
    nullif((regexp_match({{ text }}, '{{ pattern }}'))[1], '')
{%- endmacro %}
