{#-
    Unsubscribe state of each address in each consent scope (SPEC 8 "consent by email group"):
    one row per (email_key, consent_scope), where the scope is the SendGrid unsubscribe group
    (`asm_group_id`) of group_unsubscribe / group_resubscribe, or 'global' for everything else.

    A scope is unsubscribed when its latest unsubscribe is not followed by a resubscribe in the same
    scope with a usable time that is strictly later: a resubscribe lifts only what came before it,
    and one with an unusable time lifts nothing (int_email_consent_events). A group resubscribe does
    not lift a global unsubscribe, nor a global one a group's (as in SendGrid, where the global
    unsubscribe list and group suppressions are separate lists). Spam reports, hard bounces and drops
    are never lifted; they are in int_email_suppressions.
-#}
with

consent_events as (

    select * from {{ ref('int_email_consent_events') }}
    where consent_reason in ('unsubscribed', 'resubscribed')

),

scoped as (

    select
        *,
        case when asm_group_id is null then 'global' else 'group' end as consent_scope
    from consent_events

),

per_scope as (

    select
        email_key,
        consent_scope,
        asm_group_id,
        max(case when consent_action = 'withdraw' then effective_at end) as last_unsubscribed_at,
        max(case when consent_action = 'restore' and is_time_usable then effective_at end)
            as last_resubscribed_at,
        max(case when consent_action = 'restore' and not is_time_usable then 1 else 0 end) = 1
            as has_unusable_resubscribe,
        max(case when consent_action = 'withdraw' and record_origin = 'quarantined' then 1 else 0 end) = 1
            as has_quarantined_unsubscribe
    from scoped
    group by email_key, consent_scope, asm_group_id

),

final as (

    select
        email_key,
        consent_scope,
        asm_group_id,
        last_unsubscribed_at is not null
            and (last_resubscribed_at is null or last_resubscribed_at <= last_unsubscribed_at)
            as is_unsubscribed,
        last_unsubscribed_at,
        last_resubscribed_at,
        has_unusable_resubscribe,
        has_quarantined_unsubscribe
    from per_scope

)

select * from final
