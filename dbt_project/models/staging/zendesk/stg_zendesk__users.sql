-- Latest version of each Zendesk user; the email links requester ids to people (SPEC 5).
with

source as (

    select * from {{ source('zendesk', 'zendesk_users') }}

),

latest_version as (

    {% call lifecycle.distinct_on('id', '*', 'updated_at desc nulls last, _loaded_at desc, _file desc, _line desc') %}
    from source
    {% endcall %}

),

final as (

    select
        id as zendesk_user_id,
        cast(id as {{ lifecycle.text_type() }}) as zendesk_user_key,
        {{ lifecycle.normalize_email('email') }} as email,
        nullif(trim(name), '') as name,
        nullif(trim(phone), '') as phone,
        created_at,
        updated_at,
        _loaded_at

    from latest_version

)

select * from final
