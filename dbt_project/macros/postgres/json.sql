{#-
    PostgreSQL versions of the JSON helpers in macros/json_text.sql. Raw JSON columns are jsonb on
    PostgreSQL (flows/portability/raw_copy.py). The JSONPath strings the models pass ('$.a.b[0]')
    are turned into PostgreSQL path arrays ('{a,b,0}') at compile time, so `#>` / `#>>` do the work:
    a missing key, or a key looked up on a non-object, is NULL - DuckDB's json_extract semantics.
    Inputs are cast to jsonb so text columns holding JSON work too.
-#}

{#- '$.context.campaign.source' -> '{"context","campaign","source"}' (a text[] literal). -#}
{% macro pg_json_path(path) -%}
    {%- set p = path | trim -%}
    {%- if p.startswith('$') -%}{%- set p = p[1:] -%}{%- endif -%}
    {%- set parts = [] -%}
    {%- for token in p.replace('[', '.').replace(']', '').split('.') -%}
        {%- set key = token | trim -%}
        {%- if key.startswith('"') and key.endswith('"') -%}{%- set key = key[1:-1] -%}{%- endif -%}
        {%- if key != '' -%}{%- do parts.append('"' ~ key.replace('\\', '\\\\').replace('"', '\\"').replace("'", "''") ~ '"') -%}{%- endif -%}
    {%- endfor -%}
    '{ {{- parts | join(',') -}} }'
{%- endmacro %}

{% macro postgres__json_text(column, path) -%}
    (cast({{ column }} as jsonb) #>> {{ lifecycle.pg_json_path(path) }})
{%- endmacro %}

{#- PostgreSQL parses jsonb once when the column is cast; the extracted value is that jsonb and
    each item is a `#>>` path lookup on it (same NULL semantics as postgres__json_text). -#}
{% macro postgres__json_texts(column, paths) -%}
    cast({{ column }} as jsonb)
{%- endmacro %}

{% macro postgres__json_texts_item(extracted, paths, path) -%}
    ({{ extracted }} #>> {{ lifecycle.pg_json_path(path) }})
{%- endmacro %}

{% macro postgres__json_value(column, path) -%}
    (cast({{ column }} as jsonb) #> {{ lifecycle.pg_json_path(path) }})
{%- endmacro %}

{#- DuckDB's `unnest(json_extract(x, '$.p[*]'))` yields no row when the value is absent or not an
    array; jsonb_array_elements would raise on a non-array, hence the guard. -#}
{% macro postgres__unnest_json_array(column, path) -%}
    jsonb_array_elements(
        case
            when jsonb_typeof(cast({{ column }} as jsonb) #> {{ lifecycle.pg_json_path(path) }}) = 'array'
                then cast({{ column }} as jsonb) #> {{ lifecycle.pg_json_path(path) }}
        end
    )
{%- endmacro %}

{% macro postgres__json_first_text(column) -%}
    case
        when jsonb_typeof(cast({{ column }} as jsonb)) = 'array' then cast({{ column }} as jsonb) ->> 0
        else cast({{ column }} as jsonb) #>> '{}'
    end
{%- endmacro %}
