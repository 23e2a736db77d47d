-- The current stage in dim_persons (SPEC 6 table) equals the last transition of every person.
with last_numbers as (
    select
        person_id,
        max(transition_number) as transition_number
    from {{ ref('fct_lifecycle_transitions') }}
    group by person_id
),

last_transition as (
    select
        transitions.person_id,
        transitions.to_stage
    from {{ ref('fct_lifecycle_transitions') }} as transitions
    inner join last_numbers
        on
            transitions.person_id = last_numbers.person_id
            and transitions.transition_number = last_numbers.transition_number
)

select
    dim_persons.person_id,
    dim_persons.lifecycle_stage,
    last_transition.to_stage
from {{ ref('dim_persons') }} as dim_persons
left join last_transition on dim_persons.person_id = last_transition.person_id
where last_transition.to_stage is distinct from dim_persons.lifecycle_stage
