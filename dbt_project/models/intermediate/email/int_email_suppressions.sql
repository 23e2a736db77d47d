{#-
    One row per address (in match-key form, flows/email_rule.py) that must not receive some or all
    email and ads (SPEC 8 and 10), and the one consent source of both activation suppression
    (flows/activation/suppression.py) and lead status "unqualified" (through int_email_consent_by_person):
    - unsubscribed: a global unsubscribe not lifted by a later global resubscribe;
    - group_unsubscribed: a group_unsubscribe not lifted by a later resubscribe to that group
      (`unsubscribed_group_ids`); it suppresses that group's audiences, and every audience that
      declares no group (int_email_consent_by_group);
    - hard_bounce: a bounce whose type is 'bounce' (a missing type counts as hard; 'blocked' is soft);
    - dropped: any dropped event; spam_report: any spamreport; erasure_request: on an erasure request,
      including an erasure CSV row quarantined for a missing or unparseable `requested_at` (its load
      time stands in: the request still holds, SPEC 10).
    Quarantined records count (int_email_consent_events), and no as_of filter applies: a withdrawal
    is honoured whatever as_of says. suppression_reason lists every reason that holds, alphabetically.
-#}
with

consent_events as (

    select * from {{ ref('int_email_consent_events') }}

),

consent_by_group as (

    select * from {{ ref('int_email_consent_by_group') }}

),

erasure_requests as (

    select * from {{ ref('stg_privacy__erasure_requests') }}

),

-- Erasure rows ingest quarantined for their time: the address is the one email-like token of the
-- CSV line (whatever the column order), and the load time stands in for the request time.
rejected_erasures as (

    select
        {{ lifecycle.regex_group('raw_text', '([^ ,;"<>()]+@[^ ,;"<>()]+)') }} as email,
        _loaded_at as requested_at
    from {{ source('quarantine', 'rejects') }}
    where source = 'erasure' and raw_text is not null and reason like '%requested_at%'

),

all_erasure_requests as (

    select email, requested_at from erasure_requests
    union all
    select email, requested_at from rejected_erasures

),

withdrawals as (

    select
        email_key,
        min(case when consent_reason = 'hard_bounce' then effective_at end) as first_hard_bounce_at,
        min(case when consent_reason = 'dropped' then effective_at end) as first_dropped_at,
        min(case when consent_reason = 'spam_report' then effective_at end) as first_spam_report_at,
        max(case when record_origin = 'quarantined' and consent_action = 'withdraw' then 1 else 0 end) = 1
            as has_quarantined_withdrawal
    from consent_events
    where consent_reason in ('hard_bounce', 'dropped', 'spam_report')
        or (consent_reason = 'unsubscribed' and record_origin = 'quarantined')
    group by email_key

),

unsubscribes as (

    select
        email_key,
        max(case when consent_scope = 'global' and is_unsubscribed then last_unsubscribed_at end)
            as unsubscribed_at,
        min(case when consent_scope = 'group' and is_unsubscribed then last_unsubscribed_at end)
            as first_group_unsubscribed_at,
        {{ dbt.listagg(
            "case when consent_scope = 'group' and is_unsubscribed then cast(asm_group_id as " ~ dbt.type_string() ~ ") end",
            "','",
            "order by asm_group_id"
        ) }} as unsubscribed_group_ids
    from consent_by_group
    group by email_key

),

erasures as (

    select
        {{ lifecycle.email_match_key('email') }} as email_key,
        min(requested_at) as erasure_requested_at
    from all_erasure_requests
    group by {{ lifecycle.email_match_key('email') }}

),

keys as (

    select email_key from withdrawals
    union
    select email_key from unsubscribes
    union
    select email_key from erasures where email_key is not null

),

combined as (

    select
        keys.email_key,
        unsubscribes.unsubscribed_at,
        unsubscribes.first_group_unsubscribed_at,
        nullif(unsubscribes.unsubscribed_group_ids, '') as unsubscribed_group_ids,
        withdrawals.first_hard_bounce_at,
        withdrawals.first_dropped_at,
        withdrawals.first_spam_report_at,
        coalesce(withdrawals.has_quarantined_withdrawal, false) as has_quarantined_withdrawal,
        erasures.erasure_requested_at
    from keys
    left join withdrawals on withdrawals.email_key = keys.email_key
    left join unsubscribes on unsubscribes.email_key = keys.email_key
    left join erasures on erasures.email_key = keys.email_key

),

flagged as (

    select
        *,
        unsubscribed_at is not null as is_unsubscribed,
        first_group_unsubscribed_at is not null as is_group_unsubscribed,
        first_hard_bounce_at is not null as is_hard_bounced,
        first_dropped_at is not null as is_dropped,
        first_spam_report_at is not null as is_spam_reported,
        erasure_requested_at is not null as is_erasure_requested
    from combined

),

final as (

    select
        -- `email` is the match key too: the name every reader joins on.
        email_key as email,
        email_key,
        concat_ws(
            ',',
            case when is_dropped then 'dropped' end,
            case when is_erasure_requested then 'erasure_request' end,
            case when is_group_unsubscribed then 'group_unsubscribed' end,
            case when is_hard_bounced then 'hard_bounce' end,
            case when is_spam_reported then 'spam_report' end,
            case when is_unsubscribed then 'unsubscribed' end
        ) as suppression_reason,
        least(
            unsubscribed_at, first_group_unsubscribed_at, first_hard_bounce_at, first_dropped_at,
            first_spam_report_at, erasure_requested_at
        ) as suppressed_since,
        -- suppressed from every audience, whatever group it declares
        is_unsubscribed or is_hard_bounced or is_dropped or is_spam_reported or is_erasure_requested
            as is_suppressed_from_all,
        is_unsubscribed,
        is_group_unsubscribed,
        unsubscribed_group_ids,
        is_hard_bounced,
        is_dropped,
        is_spam_reported,
        is_erasure_requested,
        -- SPEC 6 lead status "unqualified" uses the email reasons only (not erasure).
        is_unsubscribed or is_group_unsubscribed or is_hard_bounced or is_dropped or is_spam_reported
            as is_unqualifying,
        has_quarantined_withdrawal,
        unsubscribed_at,
        first_group_unsubscribed_at,
        first_hard_bounce_at,
        first_dropped_at,
        first_spam_report_at,
        erasure_requested_at
    from flagged
    where is_unsubscribed or is_group_unsubscribed or is_hard_bounced or is_dropped or is_spam_reported
        or is_erasure_requested

)

select * from final
