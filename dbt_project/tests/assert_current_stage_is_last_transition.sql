-- The current stage in dim_persons (SPEC 6 table) equals the last transition of every person.
with last_transition as (
    select person_id, to_stage
    from {{ ref('fct_lifecycle_transitions') }}
    qualify row_number() over (partition by person_id order by transition_number desc) = 1
)
select dim_persons.person_id, dim_persons.lifecycle_stage, last_transition.to_stage
from {{ ref('dim_persons') }} as dim_persons
left join last_transition on last_transition.person_id = dim_persons.person_id
where last_transition.to_stage is distinct from dim_persons.lifecycle_stage
