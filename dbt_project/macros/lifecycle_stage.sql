{#-
    SPEC 6 stage table as one expression, shared by dim_persons (current stage) and its unit tests.
    `as_of`, `last_order_at` are timestamps; "more than N days ago" means last_order_at + N days < as_of,
    the same comparison fct_lifecycle_transitions uses to date the lapses, so the two always agree.
-#}
{% macro lifecycle_stage(order_count, last_order_at, is_lead, as_of) -%}
    case
        when coalesce({{ order_count }}, 0) = 0 then
            case when {{ is_lead }} then 'acquisition' else 'reach' end
        when {{ dbt.dateadd('day', var('churn_days'), last_order_at) }} < {{ as_of }} then 'churned'
        when {{ dbt.dateadd('day', var('at_risk_days'), last_order_at) }} < {{ as_of }} then 'at_risk'
        when {{ order_count }} = 1 then 'conversion'
        when {{ order_count }} < {{ var('loyalty_min_orders') }} then 'retention'
        else 'loyalty'
    end
{%- endmacro %}

{#- Stage reached by placing order number `order_number` (before any lapse). -#}
{% macro stage_after_order(order_number) -%}
    case
        when {{ order_number }} = 1 then 'conversion'
        when {{ order_number }} < {{ var('loyalty_min_orders') }} then 'retention'
        else 'loyalty'
    end
{%- endmacro %}

{#- SPEC 6 lead status order: the first rule that holds; NULL outside acquisition. -#}
{% macro lead_status(lifecycle_stage, is_unqualifying, lead_score, delivered_emails, tickets) -%}
    case
        when {{ lifecycle_stage }} <> 'acquisition' then null
        when coalesce({{ is_unqualifying }}, false) then 'unqualified'
        when {{ lead_score }} >= {{ var('qualified_score') }} then 'qualified'
        when coalesce({{ delivered_emails }}, 0) > 0 or coalesce({{ tickets }}, 0) > 0 then 'contacted'
        else 'open'
    end
{%- endmacro %}
