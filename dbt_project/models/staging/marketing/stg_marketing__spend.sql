-- Daily marketing spend; source/medium lower-cased so they join to first-touch channels.
with

source as (

    select * from {{ source('marketing', 'spend') }}

),

final as (

    select
        date as spend_date,
        lower(trim(source)) as source,
        lower(trim(medium)) as medium,
        nullif(trim(campaign), '') as campaign,
        spend,
        upper(trim(currency)) as currency,
        _file,
        _line,
        _loaded_at

    from source

)

select * from final
