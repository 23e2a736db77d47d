{#-
    PostgreSQL version of macros/connected_components.sql (same contract: (node, label), label = the
    smallest node key in the component).

    PostgreSQL has no USING KEY and forbids aggregates and a second self-reference in the recursive
    term, so this propagates (node, label) pairs with UNION (set semantics stops the recursion) and
    takes the minimum at the end. A label only travels to nodes whose key is larger than it: the
    component's minimum passes every such step, so it still reaches every node, while most useless
    pairs are never produced. Cost grows with component size squared in the worst case; identity
    components are small (the guard rails in SPEC section 5 cap shared devices).
-#}
{% macro postgres__connected_components(nodes, edges) -%}
    with recursive reachable(node, label) as (
        select
            node,
            node as label
        from {{ nodes }}

        union

        select
            edge.dst as node,
            reachable.label
        from reachable
        inner join {{ edges }} as edge
            on edge.src = reachable.node
        where reachable.label < edge.dst
    )

    select
        node,
        min(label) as label
    from reachable
    group by node
{%- endmacro %}
