-- Erasure requests, one row per normalised email (the earliest request wins).
with

source as (

    select * from {{ source('privacy', 'erasure_requests') }}

),

normalized as (

    select
        lower(trim(email)) as email,
        requested_at,
        _loaded_at
    from source
    where email is not null and trim(email) <> ''

),

final as (

    select
        email,
        min(requested_at) as requested_at,
        max(_loaded_at) as _loaded_at
    from normalized
    group by email

)

select * from final
