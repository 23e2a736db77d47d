{#- SPEC 6 lead status (acquisition stage only): the first rule that holds of unqualified,
    qualified, contacted, open (macro lead_status). "unqualified" is int_email_consent_by_person's
    is_unqualifying: the same consent source as activation suppression (quarantined opt-outs
    included), over every address of the person, in match-key form, computed there once. -#}
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

consent as (

    select * from {{ ref('int_email_consent_by_person') }}

),

final as (

    select
        staged.person_id,
        staged.lifecycle_stage,
        coalesce(lead_scores.lead_score, 0) as lead_score,
        coalesce(consent.is_unqualifying, false) as is_unqualifying,
        {{ lifecycle.lead_status(
            'staged.lifecycle_stage', 'consent.is_unqualifying', 'coalesce(lead_scores.lead_score, 0)',
            'persons.delivered_emails', 'persons.tickets_total'
        ) }} as lead_status
    from staged
    inner join persons on persons.person_id = staged.person_id
    left join lead_scores on lead_scores.person_id = staged.person_id
    left join consent on consent.person_id = staged.person_id

)

select * from final
