{#-
    `as_of`: the moment stages, lead scores and KPIs are computed at (SPEC section 6).

    var('as_of') when given (a timestamp string, e.g. --vars '{as_of: "2026-06-30 23:59:59"}');
    otherwise the latest event timestamp ingested across web, email and tickets, so re-running over
    the same data gives the same answer. Returns a SQL expression (a scalar subquery) of type
    timestamp, usable anywhere in a select: `{{ lifecycle_as_of() }}`. KPI and activation models
    call it too, so every mart agrees on the same instant.
-#}
{% macro lifecycle_as_of() -%}
    {%- if var('as_of', none) -%}
        cast('{{ var("as_of") }}' as timestamp)
    {%- else -%}
        (
            select max(event_at)
            from (
                select max(ts) as event_at from {{ source('segment', 'segment_events') }}
                union all
                select max(ts) as event_at from {{ source('sendgrid', 'sendgrid_events') }}
                union all
                select max(updated_at) as event_at from {{ source('zendesk', 'zendesk_tickets') }}
            ) as latest_per_source
        )
    {%- endif -%}
{%- endmacro %}
