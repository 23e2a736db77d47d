{#-
    Every distinct combination of identifiers seen together on a Segment message: userId, email,
    anonymousId, and an alias's previousId. The identity graph (SPEC 5) only depends on which
    identifiers were seen together, not on how often, so its edges come from these few hundred
    thousand rows instead of every message of the year.
    Incremental (delete+insert on identity_key): a run reads only the staging rows loaded after
    the newest `_loaded_at` here (minus var('incremental_lookback_minutes'), as staging does) and
    upserts their combinations with their newest load time, so a day costs what the day holds;
    the result equals a full refresh.
    identity_key: macro web_identity_key, which the web events carry too.
    Spark (issue 23): delete+insert needs Delta there (merge), so on Spark this is a table rebuilt
    every run, which equals a full refresh by the statement above.
-#}
{{
    config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        incremental_strategy='delete+insert',
        unique_key='identity_key',
    )
}}

with

messages as (

    select
        user_id,
        email,
        anonymous_id,
        case when type = 'alias' then previous_id end as alias_previous_id,
        _loaded_at
    from {{ ref('stg_segment__events') }}
    {% if is_incremental() %}
    where _loaded_at > {{ lifecycle.loaded_since() }}
    {% endif %}

),

combinations as (

    select
        user_id,
        email,
        anonymous_id,
        alias_previous_id,
        max(_loaded_at) as _loaded_at
    from messages
    where coalesce(user_id, email, anonymous_id, alias_previous_id) is not null
    group by user_id, email, anonymous_id, alias_previous_id

),

final as (

    select
        {{ lifecycle.web_identity_key('user_id', 'email', 'anonymous_id', 'alias_previous_id') }} as identity_key,
        user_id,
        email,
        anonymous_id,
        alias_previous_id,
        _loaded_at
    from combinations

)

select * from final
