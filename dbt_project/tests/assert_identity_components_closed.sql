-- Fails if any identity edge still joins two different components (label propagation incomplete).
select edges.src, edges.dst, src_map.component_label as src_label, dst_map.component_label as dst_label
from {{ ref('int_identity_edges') }} as edges
inner join {{ ref('int_identity_map') }} as src_map on src_map.node_key = edges.src
inner join {{ ref('int_identity_map') }} as dst_map on dst_map.node_key = edges.dst
where src_map.component_label <> dst_map.component_label
