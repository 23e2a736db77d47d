{#-
    One row per normalised email that must not receive email or ads (SPEC 8):
    - unsubscribed: its latest unsubscribe/group_unsubscribe is later than its latest
      group_resubscribe (groups are not distinguished: one opt-out suppresses the address);
    - hard_bounce: a bounce whose type is 'bounce' (a missing type counts as hard; 'blocked' is soft);
    - dropped: any dropped event; spam_report: any spamreport; erasure_request: on an erasure request.
    Events after as_of are ignored so re-runs with the same as_of agree.
    suppression_reason lists every reason that holds, alphabetically, comma-separated.
-#}
with

email_events as (

    select * from {{ ref('stg_sendgrid__events') }}
    where event_at <= {{ lifecycle_as_of() }}

),

erasure_requests as (

    select * from {{ ref('stg_privacy__erasure_requests') }}

),

per_email as (

    select
        email,
        max(case when event in ('unsubscribe', 'group_unsubscribe') then event_at end) as last_unsubscribed_at,
        max(case when event = 'group_resubscribe' then event_at end) as last_resubscribed_at,
        min(case when event = 'bounce' and coalesce(bounce_type, 'bounce') = 'bounce' then event_at end)
            as first_hard_bounce_at,
        min(case when event = 'dropped' then event_at end) as first_dropped_at,
        min(case when event = 'spamreport' then event_at end) as first_spam_report_at
    from email_events
    where email is not null
    group by email

),

combined as (

    select
        coalesce(per_email.email, erasure_requests.email) as email,
        case
            when per_email.last_unsubscribed_at > coalesce(per_email.last_resubscribed_at, cast('1900-01-01' as timestamp))
                then per_email.last_unsubscribed_at
        end as unsubscribed_at,
        per_email.first_hard_bounce_at,
        per_email.first_dropped_at,
        per_email.first_spam_report_at,
        erasure_requests.requested_at as erasure_requested_at
    from per_email
    full outer join erasure_requests on erasure_requests.email = per_email.email

),

flagged as (

    select
        *,
        unsubscribed_at is not null as is_unsubscribed,
        first_hard_bounce_at is not null as is_hard_bounced,
        first_dropped_at is not null as is_dropped,
        first_spam_report_at is not null as is_spam_reported,
        erasure_requested_at is not null as is_erasure_requested
    from combined

),

final as (

    select
        email,
        concat_ws(
            ',',
            case when is_dropped then 'dropped' end,
            case when is_erasure_requested then 'erasure_request' end,
            case when is_hard_bounced then 'hard_bounce' end,
            case when is_spam_reported then 'spam_report' end,
            case when is_unsubscribed then 'unsubscribed' end
        ) as suppression_reason,
        least(
            unsubscribed_at, first_hard_bounce_at, first_dropped_at, first_spam_report_at, erasure_requested_at
        ) as suppressed_since,
        is_unsubscribed,
        is_hard_bounced,
        is_dropped,
        is_spam_reported,
        is_erasure_requested,
        -- SPEC 6 lead status "unqualified" uses the email reasons only (not erasure).
        is_unsubscribed or is_hard_bounced or is_dropped or is_spam_reported as is_unqualifying,
        unsubscribed_at,
        first_hard_bounce_at,
        first_dropped_at,
        first_spam_report_at,
        erasure_requested_at
    from flagged
    where is_unsubscribed or is_hard_bounced or is_dropped or is_spam_reported or is_erasure_requested

)

select * from final
