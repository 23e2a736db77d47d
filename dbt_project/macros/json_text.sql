{#-
    Engine-specific JSON access, behind adapter.dispatch so a postgres__ version can be added later
    without touching the models. Paths use JSONPath syntax ('$.context.campaign.source').
-#}

{#- Text value at `path` inside the JSON column `column` (NULL when absent or JSON null). -#}
{% macro json_text(column, path) -%}
    {{ return(adapter.dispatch('json_text', 'lifecycle')(column, path)) }}
{%- endmacro %}

{% macro duckdb__json_text(column, path) -%}
    json_extract_string({{ column }}, '{{ path }}')
{%- endmacro %}

{% macro default__json_text(column, path) -%}
    {{ exceptions.raise_compiler_error("json_text is not implemented for adapter " ~ adapter.type()) }}
{%- endmacro %}


{#-
    Many text values from one JSON column with ONE parse per row. `json_text(column, path)` called
    N times parses the document N times; instead select `json_texts(column, paths) as x` once (in
    an earlier CTE) and read each value with `json_texts_item('x', paths, path)`. `paths` is the
    same list in both calls (the DuckDB value is a list indexed by the path's position).
-#}
{% macro json_texts(column, paths) -%}
    {{ return(adapter.dispatch('json_texts', 'lifecycle')(column, paths)) }}
{%- endmacro %}

{% macro json_texts_item(extracted, paths, path) -%}
    {%- if path not in paths -%}
        {{ exceptions.raise_compiler_error("json_texts_item: path " ~ path ~ " is not in the extracted paths") }}
    {%- endif -%}
    {{ return(adapter.dispatch('json_texts_item', 'lifecycle')(extracted, paths, path)) }}
{%- endmacro %}

{#- DuckDB: json_extract_string with a list of paths returns a list of texts from one parse. -#}
{% macro duckdb__json_texts(column, paths) -%}
    json_extract_string({{ column }}, [{% for p in paths %}'{{ p }}'{{ ', ' if not loop.last }}{% endfor %}])
{%- endmacro %}

{% macro duckdb__json_texts_item(extracted, paths, path) -%}
    {{ extracted }}[{{ paths.index(path) + 1 }}]
{%- endmacro %}

{% macro default__json_texts(column, paths) -%}
    {{ exceptions.raise_compiler_error("json_texts is not implemented for adapter " ~ adapter.type()) }}
{%- endmacro %}

{% macro default__json_texts_item(extracted, paths, path) -%}
    {{ exceptions.raise_compiler_error("json_texts_item is not implemented for adapter " ~ adapter.type()) }}
{%- endmacro %}


{#- JSON value (not text) at `path`; used to keep nested arrays/objects for a later unnest. -#}
{% macro json_value(column, path) -%}
    {{ return(adapter.dispatch('json_value', 'lifecycle')(column, path)) }}
{%- endmacro %}

{% macro duckdb__json_value(column, path) -%}
    json_extract({{ column }}, '{{ path }}')
{%- endmacro %}

{% macro default__json_value(column, path) -%}
    {{ exceptions.raise_compiler_error("json_value is not implemented for adapter " ~ adapter.type()) }}
{%- endmacro %}


{#- One row per element of the JSON array at `path`: a set-returning select-list expression. -#}
{% macro unnest_json_array(column, path) -%}
    {{ return(adapter.dispatch('unnest_json_array', 'lifecycle')(column, path)) }}
{%- endmacro %}

{% macro duckdb__unnest_json_array(column, path) -%}
    unnest(json_extract({{ column }}, '{{ path }}[*]'))
{%- endmacro %}

{% macro default__unnest_json_array(column, path) -%}
    {{ exceptions.raise_compiler_error("unnest_json_array is not implemented for adapter " ~ adapter.type()) }}
{%- endmacro %}


{#- First element of a JSON value that may be a string or an array of strings (SendGrid `category`). -#}
{% macro json_first_text(column) -%}
    {{ return(adapter.dispatch('json_first_text', 'lifecycle')(column)) }}
{%- endmacro %}

{% macro duckdb__json_first_text(column) -%}
    case
        when json_type({{ column }}) = 'ARRAY' then json_extract_string({{ column }}, '$[0]')
        else json_extract_string({{ column }}, '$')
    end
{%- endmacro %}

{% macro default__json_first_text(column) -%}
    {{ exceptions.raise_compiler_error("json_first_text is not implemented for adapter " ~ adapter.type()) }}
{%- endmacro %}
