{#-
    Spark version of macros/connected_components.sql (same contract: (node, label), label = the
    smallest node key of the node's component).

    Spark 4.1 has WITH RECURSIVE, but only with UNION ALL (no UNION, no USING KEY) and no aggregate
    in the recursive term, so a recursion there enumerates walks, not nodes, and never ends on a
    cycle (every identity edge is stored in both directions). This is bounded label propagation
    instead: each round gives every node the smallest label among itself and its neighbours, so a
    label travels one edge per round and var('connected_components_rounds') rounds (default 16)
    close every component whose diameter is at most that. Each round reads the previous one once,
    so the plan grows linearly. The data test assert_identity_components_closed fails the build if
    any edge still joins two labels (a component wider than the bound), rather than giving wrong
    persons silently.
-#}
{% macro spark__connected_components(nodes, edges) -%}
    {%- set rounds = var("connected_components_rounds", 16) | int -%}
    with

    neighbours as (

        select src, dst from {{ edges }}
        union all
        select node as src, node as dst from {{ nodes }}

    ),

    round_0 as (

        select
            node,
            node as label
        from {{ nodes }}

    ),

    {% for i in range(1, rounds + 1) %}
    round_{{ i }} as (

        select
            neighbours.src as node,
            min(previous.label) as label
        from neighbours
        inner join round_{{ i - 1 }} as previous
            on previous.node = neighbours.dst
        group by neighbours.src

    ),
    {% endfor %}

    final as (

        select node, label from round_{{ rounds }}

    )

    select node, label from final
{%- endmacro %}
