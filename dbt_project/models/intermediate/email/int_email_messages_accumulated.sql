{#-
    int_email_messages_aggregated kept up to date a load at a time: one row per email message and
    campaign over every staged SendGrid event (macro email_messages_rollup_ctes).
    Incremental (delete+insert on message_key): a run re-aggregates only the messages with an event
    loaded after the newest `_loaded_at` here (minus var('incremental_lookback_minutes'), as
    staging does), each from all of its events, so a day costs what the day's messages hold; at
    100,000 persons the daily rebuild of every message took 4 s (docs/scaling.md).
    No as_of: the default as_of is the newest event time ingested, so every staged event is up to
    it and this equals the as_of result; int_email_messages_aggregated reads the events instead
    when var('as_of') pins an earlier moment. It stores no address, and staging keeps every event
    and message key through an erasure, so an erasure leaves it as a full refresh would.
    Spark (issue 23): delete+insert needs Delta there, so on Spark this is a table rebuilt every
    run, as int_web_identities_deduplicated.
-#}
{{
    config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        incremental_strategy='delete+insert',
        unique_key='message_key',
    )
}}

with

staged as (

    select
        {{ lifecycle.email_campaign() }} as campaign,
        {{ lifecycle.email_message_key() }} as message_key,
        campaign_id,
        event,
        event_at,
        _loaded_at
    from {{ ref('stg_sendgrid__events') }}

),

{% if is_incremental() %}
touched as (

    select distinct message_key
    from staged
    where _loaded_at > {{ lifecycle.loaded_since() }}

),
{% endif %}

events as (

    select staged.*
    from staged
    {% if is_incremental() %}
    inner join touched on touched.message_key = staged.message_key
    {% endif %}

),

{{ lifecycle.email_messages_rollup_ctes('events') }}

select * from final
