{#-
    Spark versions of the JSON helpers in macros/json_text.sql. Raw JSON columns are strings on
    Spark (the Parquet copy of flows/portability/spark.py); get_json_object reads a JSONPath of the
    simple form the models use ('$.a.b', '$[0]') and gives NULL for a missing key or a JSON null, a
    string's text unquoted and a nested value's JSON text: DuckDB's json_extract_string semantics.
-#}

{% macro spark__json_text(column, path) -%}
    get_json_object({{ column }}, '{{ path }}')
{%- endmacro %}

{#- No one-parse multi-path extract that keeps NULL semantics: the extracted value is the column and
    each item is one get_json_object (as on PostgreSQL). -#}
{% macro spark__json_texts(column, paths) -%}
    {{ column }}
{%- endmacro %}

{% macro spark__json_texts_item(extracted, paths, path) -%}
    get_json_object({{ extracted }}, '{{ path }}')
{%- endmacro %}

{% macro spark__json_value(column, path) -%}
    get_json_object({{ column }}, '{{ path }}')
{%- endmacro %}

{#- One row per array element, each as JSON text; from_json gives NULL for a non-array, and
    explode(NULL) no row, as DuckDB's unnest of a missing or non-array value. -#}
{% macro spark__unnest_json_array(column, path) -%}
    explode(from_json(get_json_object({{ column }}, '{{ path }}'), 'array<string>'))
{%- endmacro %}

{% macro spark__json_first_text(column) -%}
    case
        when ltrim({{ column }}) like '[%' then get_json_object({{ column }}, '$[0]')
        else get_json_object({{ column }}, '$')
    end
{%- endmacro %}
