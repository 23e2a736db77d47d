{#-
    Every SendGrid consent signal, one row per event (SPEC 8 and 10: an opt-out is never lost).

    Two sources, unioned:
    - staged events (stg_sendgrid__events): the records ingest loaded;
    - quarantined email records (raw.rejects, source 'email'): a record that withdraws consent still
      counts when another field made ingest reject it (unparseable or missing timestamp, missing
      sg_event_id, unknown fields, even malformed JSON when the event and email can be read). It
      stays quarantined for the KPIs; only suppression and lead status read it from here.

    Consent events: unsubscribe, group_unsubscribe, spamreport, bounce of type bounce (a missing
    type counts as hard; 'blocked' is soft and not a consent event), dropped (withdrawals), and
    group_resubscribe (the only restore SendGrid's webhook sends).

    Scope: group_unsubscribe / group_resubscribe apply to their asm_group_id; without one they are
    global. unsubscribe, spamreport, bounce and dropped are always global.

    Time: `effective_at` is the event's own time when usable (present, parseable, and not after the
    moment it was loaded plus var('consent_clock_skew_minutes')), else its load time (`_loaded_at`)
    stands in. `is_time_usable` says which; a restore with an unusable time lifts nothing
    (int_email_consent_by_group). No as_of filter: a withdrawal is honoured whatever as_of says.
-#}
with

staged as (

    select * from {{ ref('stg_sendgrid__events') }}

),

rejects as (

    select * from {{ source('quarantine', 'rejects') }}
    where source = 'email' and raw_text is not null

),

staged_consent as (

    select
        'loaded' as record_origin,
        cast(null as {{ dbt.type_string() }}) as reject_reason,
        sg_event_id,
        event,
        raw_email,
        bounce_type,
        cast(asm_group_id as {{ dbt.type_bigint() }}) as asm_group_id,
        event_at,
        _file,
        _line,
        _loaded_at
    from staged
    where event in ('unsubscribe', 'group_unsubscribe', 'group_resubscribe', 'spamreport', 'dropped')
        or (event = 'bounce' and coalesce(bounce_type, 'bounce') = 'bounce')

),

-- The fields of a quarantined record, read from its text once.
reject_fields as (

    select
        reason,
        lower(trim({{ lifecycle.json_text_member('raw_text', 'event') }})) as event,
        {{ lifecycle.json_text_member('raw_text', 'sg_event_id') }} as sg_event_id,
        {{ lifecycle.json_text_member('raw_text', 'email') }} as email_text,
        lower(trim({{ lifecycle.json_text_member('raw_text', 'type') }})) as bounce_type,
        {{ lifecycle.json_number_member('raw_text', 'asm_group_id') }} as asm_group_id_text,
        {{ lifecycle.json_number_member('raw_text', 'timestamp') }} as timestamp_text,
        _file,
        _line,
        _loaded_at
    from rejects

),

rejected_consent as (

    select
        'quarantined' as record_origin,
        reason as reject_reason,
        sg_event_id,
        event,
        lower(trim(email_text)) as raw_email,
        case when event = 'bounce' then coalesce(bounce_type, 'bounce') end as bounce_type,
        cast(case when length(asm_group_id_text) <= 18 and asm_group_id_text not like '%.%'
            then asm_group_id_text end as {{ dbt.type_bigint() }}) as asm_group_id,
        {{ lifecycle.sendgrid_epoch_to_timestamp('timestamp_text') }} as event_at,
        _file,
        _line,
        _loaded_at
    from reject_fields
    where email_text is not null
        and (
            event in ('unsubscribe', 'group_unsubscribe', 'group_resubscribe', 'spamreport', 'dropped')
            or (event = 'bounce' and coalesce(bounce_type, 'bounce') = 'bounce')
        )

),

unioned as (

    select * from staged_consent
    union all
    select * from rejected_consent

),

classified as (

    select
        record_origin,
        reject_reason,
        sg_event_id,
        event,
        {{ lifecycle.canonical_email('raw_email') }} as email,
        {{ lifecycle.email_match_key('raw_email') }} as email_key,
        case when event = 'group_resubscribe' then 'restore' else 'withdraw' end as consent_action,
        case
            when event = 'spamreport' then 'spam_report'
            when event = 'bounce' then 'hard_bounce'
            when event = 'dropped' then 'dropped'
            when event = 'group_resubscribe' then 'resubscribed'
            else 'unsubscribed'
        end as consent_reason,
        case when event in ('group_unsubscribe', 'group_resubscribe') then asm_group_id end as asm_group_id,
        event_at,
        event_at is not null
            and event_at <= {{ dbt.dateadd('minute', var('consent_clock_skew_minutes'), '_loaded_at') }}
            as is_time_usable,
        _file,
        _line,
        _loaded_at
    from unioned

),

final as (

    select
        {{ lifecycle_surrogate_key(['record_origin', '_file', '_line', 'event', 'sg_event_id']) }} as consent_event_id,
        email_key,
        email,
        event,
        consent_action,
        consent_reason,
        asm_group_id,
        case when is_time_usable then event_at else _loaded_at end as effective_at,
        is_time_usable,
        event_at,
        record_origin,
        reject_reason,
        sg_event_id,
        _file,
        _line,
        _loaded_at
    from classified
    where email_key is not null

)

select * from final
