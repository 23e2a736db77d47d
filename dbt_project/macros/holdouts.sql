{#-
    The holdout assignment table sync writes (flows/activation/holdouts.py, same columns). A build
    that runs before the first sync (a fresh install, the PostgreSQL parity build) creates it empty,
    so stg_sync__holdout_assignments and mart_segment_lift always have their source. `if not
    exists` only: dbt never rewrites or drops sync state, not even with --full-refresh.
-#}
{% macro ensure_holdout_assignments() -%}
    {{ return(adapter.dispatch('ensure_holdout_assignments', 'lifecycle')()) }}
{%- endmacro %}

{% macro default__ensure_holdout_assignments() -%}
    {%- set relation = source('sync', 'holdout_assignments') -%}
    create schema if not exists {{ relation.schema }};
    create table if not exists {{ relation }} (
        segment {{ dbt.type_string() }} not null,
        person_id {{ dbt.type_string() }} not null,
        assigned_group {{ dbt.type_string() }} not null,
        assigned_at {{ dbt.type_timestamp() }} not null,
        run_id {{ dbt.type_string() }} not null,
        recorded_at {{ dbt.type_timestamp() }} not null
    )
{%- endmacro %}
