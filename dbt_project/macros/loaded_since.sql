{#-
    The high-water mark of an incremental model fed by loads: the newest `_loaded_at` it already
    holds, minus var('incremental_lookback_minutes') (DECISIONS "Incremental staging high-water
    mark"), as a scalar subquery over {{ this }}. Use inside `{% if is_incremental() %}`:
    `where _loaded_at > {{ lifecycle.loaded_since() }}`.
-#}
{% macro loaded_since() -%}
    (
        select {{ dbt.dateadd('minute', -1 * var('incremental_lookback_minutes'), "coalesce(max(_loaded_at), cast('1970-01-01' as timestamp))") }}
        from {{ this }}
    )
{%- endmacro %}
