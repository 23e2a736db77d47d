{#- SPEC 6 lead status (acquisition stage only): the first rule that holds of unqualified,
    qualified, contacted, open (macro lead_status). -#}
with

persons as (

    select * from {{ ref('int_persons_activity_aggregated') }}

),

staged as (

    select * from {{ ref('int_persons_staged') }}

),

lead_scores as (

    select * from {{ ref('int_lead_scores_computed') }}

),

suppressions as (

    select * from {{ ref('int_email_suppressions') }}

),

final as (

    select
        staged.person_id,
        staged.lifecycle_stage,
        coalesce(lead_scores.lead_score, 0) as lead_score,
        coalesce(suppressions.is_unqualifying, false) as is_unqualifying,
        {{ lifecycle.lead_status(
            'staged.lifecycle_stage', 'suppressions.is_unqualifying', 'coalesce(lead_scores.lead_score, 0)',
            'persons.delivered_emails', 'persons.tickets_total'
        ) }} as lead_status
    from staged
    inner join persons on persons.person_id = staged.person_id
    left join lead_scores on lead_scores.person_id = staged.person_id
    left join suppressions on suppressions.email = persons.email

)

select * from final
