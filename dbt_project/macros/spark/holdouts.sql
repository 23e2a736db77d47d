{#- Spark version of macros/holdouts.sql: Spark runs one statement per call, so the schema is
    created here (at hook time) and the hook is the create table alone. -#}
{% macro spark__ensure_holdout_assignments() -%}
    {%- set relation = source('sync', 'holdout_assignments') -%}
    {%- if execute -%}
        {%- do run_query('create schema if not exists ' ~ relation.schema) -%}
    {%- endif -%}
    create table if not exists {{ relation }} (
        segment string not null,
        person_id string not null,
        assigned_group string not null,
        assigned_at timestamp not null,
        run_id string not null,
        recorded_at timestamp not null
    ) using parquet
{%- endmacro %}
