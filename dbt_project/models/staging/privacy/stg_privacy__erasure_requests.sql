-- Erasure requests, one row per normalised email (the earliest request wins). A request already
-- applied holds `erased:<erasure_id>` instead of the address (flows/privacy/erase.py): the
-- privacy ledger keeps only a keyed hash, and every record of the address is redacted at ingest,
-- so applied requests are left out here.
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
    where email is not null and trim(email) <> '' and not {{ lifecycle.starts_with('email', "'erased:'") }}

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
