{#- SPEC 6 lead status (acquisition stage only): the first rule that holds of unqualified,
    qualified, contacted, open (macro lead_status). "unqualified" reads int_email_suppressions, the
    same consent source as activation suppression (quarantined opt-outs included), over every
    address of the person (int_identity_map), in match-key form. -#}
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

identity_map as (

    select * from {{ ref('int_identity_map') }}

),

-- Every address of a person: the best one on the person row and each email identifier.
person_email_keys as (

    select person_id, {{ lifecycle.email_match_key('email') }} as email_key
    from persons
    where email is not null
    union
    select person_id, {{ lifecycle.email_match_key('identifier_value') }} as email_key
    from identity_map
    where identifier_type = 'email'

),

person_consent as (

    select
        person_email_keys.person_id,
        max(case when suppressions.is_unqualifying then 1 else 0 end) = 1 as is_unqualifying
    from person_email_keys
    inner join suppressions on suppressions.email = person_email_keys.email_key
    group by person_email_keys.person_id

),

final as (

    select
        staged.person_id,
        staged.lifecycle_stage,
        coalesce(lead_scores.lead_score, 0) as lead_score,
        coalesce(person_consent.is_unqualifying, false) as is_unqualifying,
        {{ lifecycle.lead_status(
            'staged.lifecycle_stage', 'person_consent.is_unqualifying', 'coalesce(lead_scores.lead_score, 0)',
            'persons.delivered_emails', 'persons.tickets_total'
        ) }} as lead_status
    from staged
    inner join persons on persons.person_id = staged.person_id
    left join lead_scores on lead_scores.person_id = staged.person_id
    left join person_consent on person_consent.person_id = staged.person_id

)

select * from final
