-- Latest version of each ticket (status deleted left out, SPEC 4.3) with metrics and person
-- (resolved once in int_tickets_resolved).
with

tickets as (

    select * from {{ ref('int_tickets_resolved') }}
    where status is distinct from 'deleted'

),

metrics as (

    select * from {{ ref('stg_zendesk__ticket_metrics') }}

),

final as (

    select
        tickets.ticket_id,
        tickets.person_id,
        tickets.requester_id,
        tickets.status,
        tickets.priority,
        tickets.channel,
        tickets.subject,
        tickets.created_at,
        tickets.updated_at,
        coalesce(
            metrics.solved_at,
            case when tickets.status in ('solved', 'closed') then tickets.updated_at end
        ) as solved_at,
        tickets.satisfaction_score,
        metrics.first_reply_minutes,
        metrics.first_resolution_minutes,
        metrics.full_resolution_minutes,
        metrics.replies,
        tickets.status in ('new', 'open', 'pending', 'hold') as is_open
    from tickets
    left join metrics on metrics.ticket_id = tickets.ticket_id

)

select * from final
