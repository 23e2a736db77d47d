{#-
    Connected components over an undirected edge list, set-based (SPEC section 5).

    `nodes` has a column `node`; `edges` has `src`, `dst` and must contain both directions.
    Returns (node, label) where label is the smallest node key of the node's component, so callers
    that encode a preference into the key (e.g. '1:<userId>' < '2:<email>') get the component's
    best identifier directly as its label.

    DuckDB: a recursive CTE with USING KEY keeps one row per node and only propagates from nodes
    whose label changed in the previous iteration, so each iteration costs the frontier, and the
    recursion stops when no label improves (it always terminates: labels only decrease and are
    bounded). A chain of length n takes n iterations; real identity graphs have tiny diameters.
-#}
{% macro connected_components(nodes, edges) -%}
    {{ return(adapter.dispatch('connected_components', 'lifecycle')(nodes, edges)) }}
{%- endmacro %}

{% macro duckdb__connected_components(nodes, edges) -%}
    with recursive components(node, label) using key (node) as (
        select
            node,
            node as label
        from {{ nodes }}

        union

        select
            edge.dst as node,
            min(changed.label) as label
        from components as changed
        inner join {{ edges }} as edge
            on edge.src = changed.node
        inner join recurring.components as current_label
            on current_label.node = edge.dst
        where changed.label < current_label.label
        group by edge.dst
    )

    select node, label from components
{%- endmacro %}

{% macro default__connected_components(nodes, edges) -%}
    {{ exceptions.raise_compiler_error("connected_components is not implemented for adapter " ~ adapter.type()) }}
{%- endmacro %}
