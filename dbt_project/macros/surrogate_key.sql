{#- md5 of the '|'-joined text of the columns (NULL as ''), without a package dependency. -#}
{% macro lifecycle_surrogate_key(columns) -%}
    md5(
        {%- for column in columns %}
        coalesce(cast({{ column }} as {{ dbt.type_string() }}), '')
        {%- if not loop.last %} || '|' || {% endif -%}
        {%- endfor %}
    )
{%- endmacro %}
