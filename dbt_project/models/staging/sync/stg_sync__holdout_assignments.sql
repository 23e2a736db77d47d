-- Holdout assignments (segment, person, group, entry time), one row per (segment, person).
with

source as (

    select * from {{ source('sync', 'holdout_assignments') }}

),

final as (

    select
        segment,
        person_id,
        assigned_group,
        cast(assigned_at as {{ dbt.type_timestamp() }}) as assigned_at,
        recorded_at
    from source
    where assigned_group in ('treated', 'holdout')

)

select * from final
