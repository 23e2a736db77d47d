-- person_id is derived from the component's best identifier (SPEC 5), which is in the component.
select person_id, person_identifier_type, person_identifier_value
from {{ ref('int_identity_map') }}
where person_id <> {{ lifecycle.person_id_from('person_identifier_type', 'person_identifier_value') }}
   or not exists (
        select 1 from {{ ref('int_identity_map') }} as member
        where member.identifier_type = int_identity_map.person_identifier_type
          and member.identifier_value = int_identity_map.person_identifier_value
          and member.person_id = int_identity_map.person_id
   )
