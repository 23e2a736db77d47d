{#-
    Email consent of each person (SPEC 8 and 10), over EVERY address of the person (the best one on
    the person row and each email identifier of int_identity_map), compared by the one match key
    (flows/email_rule.py, macro email_match_key): `J.Doe@gmail.com` whose opt-out came as
    `jdoe@gmail.com` is the same address. One row per person with at least one address.

    Consent by group, told truthfully:
    - is_suppressed_from_all: a global unsubscribe, hard bounce, drop, spam report or erasure
      request of any of the person's addresses: no audience may include the person, whatever group
      it sends under; suppression_reason says why, suppressed_since since when;
    - unsubscribed_group_ids: the SendGrid unsubscribe groups (asm_group_id) any address is
      unsubscribed from (not lifted by a later resubscribe to that group). Alone, they suppress only
      the audiences sent under those groups (and audiences that declare no group);
    - is_unqualifying: SPEC 6 lead status "unqualified" (every email reason, group ones included,
      but not erasure), read by int_lead_statuses_assigned.
    The same sources as activation suppression (flows/activation/suppression.py), which applies
    them at audience time.
-#}
with

persons as (

    select * from {{ ref('int_persons_activity_aggregated') }}

),

identity_map as (

    select * from {{ ref('int_identity_map') }}

),

suppressions as (

    select * from {{ ref('int_email_suppressions') }}

),

consent_by_group as (

    select * from {{ ref('int_email_consent_by_group') }}

),

person_email_keys as (

    select person_id, {{ lifecycle.email_match_key('email') }} as email_key
    from persons
    where email is not null
    union
    select person_id, {{ lifecycle.email_match_key('identifier_value') }} as email_key
    from identity_map
    where identifier_type = 'email'

),

keyed as (

    select distinct person_id, email_key from person_email_keys where email_key is not null

),

person_flags as (

    select
        keyed.person_id,
        count(distinct keyed.email_key) as email_addresses,
        max(case when suppressions.is_unsubscribed then 1 else 0 end) = 1 as is_unsubscribed,
        max(case when suppressions.is_hard_bounced then 1 else 0 end) = 1 as is_hard_bounced,
        max(case when suppressions.is_dropped then 1 else 0 end) = 1 as is_dropped,
        max(case when suppressions.is_spam_reported then 1 else 0 end) = 1 as is_spam_reported,
        max(case when suppressions.is_erasure_requested then 1 else 0 end) = 1 as is_erasure_requested,
        max(case when suppressions.is_unqualifying then 1 else 0 end) = 1 as is_unqualifying,
        min(least(
            suppressions.unsubscribed_at, suppressions.first_hard_bounce_at, suppressions.first_dropped_at,
            suppressions.first_spam_report_at, suppressions.erasure_requested_at
        )) as suppressed_since
    from keyed
    left join suppressions on suppressions.email_key = keyed.email_key
    group by keyed.person_id

),

person_groups as (

    select distinct keyed.person_id, consent_by_group.asm_group_id
    from keyed
    inner join consent_by_group on consent_by_group.email_key = keyed.email_key
    where consent_by_group.consent_scope = 'group' and consent_by_group.is_unsubscribed

),

group_lists as (

    select
        person_id,
        {{ dbt.listagg(
            "cast(asm_group_id as " ~ dbt.type_string() ~ ")", "','", "order by asm_group_id"
        ) }} as unsubscribed_group_ids
    from person_groups
    group by person_id

),

final as (

    select
        person_flags.person_id,
        person_flags.email_addresses,
        person_flags.is_unsubscribed or person_flags.is_hard_bounced or person_flags.is_dropped
            or person_flags.is_spam_reported or person_flags.is_erasure_requested as is_suppressed_from_all,
        nullif(concat_ws(
            ',',
            case when person_flags.is_dropped then 'dropped' end,
            case when person_flags.is_erasure_requested then 'erasure_request' end,
            case when person_flags.is_hard_bounced then 'hard_bounce' end,
            case when person_flags.is_spam_reported then 'spam_report' end,
            case when person_flags.is_unsubscribed then 'unsubscribed' end
        ), '') as suppression_reason,
        person_flags.suppressed_since,
        group_lists.unsubscribed_group_ids,
        case
            when person_flags.is_unsubscribed then 'unsubscribed'
            when person_flags.is_hard_bounced or person_flags.is_dropped or person_flags.is_spam_reported
                or person_flags.is_erasure_requested then 'suppressed'
            when group_lists.unsubscribed_group_ids is not null then 'group_unsubscribed'
            else 'subscribed'
        end as email_consent_state,
        person_flags.is_unqualifying
    from person_flags
    left join group_lists on group_lists.person_id = person_flags.person_id

)

select * from final
