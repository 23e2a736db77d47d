{#-
    SPEC 6 lead score parts: points per occurrence and the cap of each part. Defaults are the
    SPEC's; override any of them with --vars '{lead_score_rules: {page_view: {points: 3}}}'.
    The overall cap and the window are the declared vars lead_score_cap / lead_score_window_days.
-#}
{% macro lead_score_rule(part, key) -%}
    {%- set defaults = {
        'page_view': {'points': 2, 'cap': 20},
        'product_view': {'points': 5, 'cap': 25},
        'email_open': {'points': 3, 'cap': 15},
        'email_click': {'points': 8, 'cap': 24},
        'signed_up': {'points': 10, 'cap': 10},
        'checkout_without_order': {'points': 20, 'cap': 20},
    } -%}
    {%- set overrides = var('lead_score_rules', {}) or {} -%}
    {%- set rule = dict(defaults[part]) -%}
    {%- do rule.update(overrides.get(part, {})) -%}
    {{- rule[key] -}}
{%- endmacro %}

{#- least(count * points, cap) for one part. The count is coalesced to 0 FIRST: a person with no
    event of the kind in the window has a NULL count (no row on the outer join). -#}
{% macro lead_score_part(count_expr, part) -%}
    least(coalesce({{ count_expr }}, 0) * {{ lifecycle.lead_score_rule(part, 'points') }}, {{ lifecycle.lead_score_rule(part, 'cap') }})
{%- endmacro %}

{#- A once-only part ("Signed Up", "Checkout Started" without an order): its points when the count is
    at least 1, else 0. NULL (no such event) scores 0: least()/greatest() skip NULLs, so the count is
    coalesced before anything compares it (issue 24: least(NULL, 1) gave everyone the points). -#}
{% macro lead_score_flag_part(count_expr, part) -%}
    case when coalesce({{ count_expr }}, 0) > 0
        then least({{ lifecycle.lead_score_rule(part, 'points') }}, {{ lifecycle.lead_score_rule(part, 'cap') }})
        else 0
    end
{%- endmacro %}
