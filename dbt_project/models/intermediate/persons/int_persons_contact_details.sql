{#-
    Per person: first and last name and the phone in E.164, the forms channel destinations send
    (SPEC 8; Google Customer Match, Meta, Mailchimp, Klaviyo and HubSpot all take names split).

    Names: the latest Segment traits `first_name` / `last_name` (up to as_of) win. A person with
    neither trait gets a split of their best `name`: whitespace collapsed; "Last, First" (one comma)
    gives last = before the comma, first = after it; otherwise first = the first word and last = the
    rest ("Ludwig van Beethoven" -> "Ludwig" / "van Beethoven"); a single word is a first name only.

    Phone (`phone_e164`): `+` followed by 8 to 15 digits, the first not 0 (ITU-T E.164).
    - only digits, spaces and ( ) . - / are allowed besides one leading `+`; anything else (an
      extension "x12", letters) makes the phone unusable (NULL), never guessed;
    - a leading `+` or `00` is the international prefix;
    - otherwise the number is national: trunk zeros are dropped and var('phone_default_country_code')
      (default 1, NANP, the demo's country) is prepended; with calling code 1 an 11-digit number
      that already starts with 1 is taken as 1 + the national number.
    Portable SQL only (regexp_replace with the 'g' flag, ltrim with a character set, split_part,
    strpos): the same text runs on DuckDB and PostgreSQL.
-#}
{%- set cc = var('phone_default_country_code') | string -%}

with

persons as (

    select * from {{ ref('int_persons_activity_aggregated') }}

),

-- The few staged messages with a name trait, each keyed to its identity (the key
-- int_web_events_classified stores) and so to its person: joining them to every web message by
-- message_id took 1.9 s of each daily build at 100,000 persons (docs/scaling.md).
segment_traits as (

    select
        {{ lifecycle.segment_message_identity_key() }} as identity_key,
        event_at,
        first_name,
        last_name
    from {{ ref('stg_segment__events') }}
    where (first_name is not null or last_name is not null)
        and event_at <= {{ lifecycle_as_of() }}

),

web_identities as (

    select identity_key, person_id from {{ ref('int_web_identities_resolved') }}
    where person_id is not null

),

trait_names as (

    select
        web_identities.person_id,
        {{ lifecycle.max_by('segment_traits.first_name', 'segment_traits.event_at', 'segment_traits.first_name is not null') }} as trait_first_name,
        {{ lifecycle.max_by('segment_traits.last_name', 'segment_traits.event_at', 'segment_traits.last_name is not null') }} as trait_last_name
    from segment_traits
    inner join web_identities on web_identities.identity_key = segment_traits.identity_key
    group by web_identities.person_id

),

cleaned as (

    select
        persons.person_id,
        nullif(trim({{ lifecycle.regexp_replace_all('persons.name', "'[ \\t\\r\\n]+'", "' '") }}), '') as full_name,
        nullif(trim(persons.phone), '') as phone_text,
        trait_names.trait_first_name,
        trait_names.trait_last_name
    from persons
    left join trait_names on trait_names.person_id = persons.person_id

),

split as (

    select
        *,
        case
            when full_name like '%,%' and full_name not like '%,%,%'
                then nullif(trim(split_part(full_name, ',', 2)), '')
            else split_part(full_name, ' ', 1)
        end as split_first_name,
        case
            when full_name like '%,%' and full_name not like '%,%,%'
                then nullif(trim(split_part(full_name, ',', 1)), '')
            when {{ lifecycle.strpos('full_name', "' '") }} > 0
                then nullif(trim(substr(full_name, {{ lifecycle.strpos('full_name', "' '") }} + 1)), '')
        end as split_last_name,
        {{ lifecycle.regexp_replace_all('phone_text', "'[^0-9]'", "''") }} as phone_digits,
        -- Usable characters only, and `+` (if any) only in front.
        (
            {{ lifecycle.regexp_replace_all('phone_text', "'[0-9 ().+/-]'", "''") }} = ''
            and {{ lifecycle.strpos('substr(phone_text, 2)', "'+'") }} = 0
        ) as phone_chars_ok
    from cleaned

),

phones as (

    select
        *,
        case
            when not phone_chars_ok then null
            when phone_text like '+%' then '+' || phone_digits
            when phone_text like '00%' then '+' || substr(phone_digits, 3)
            {%- if cc == '1' %}
            when length(phone_digits) = 11 and phone_digits like '1%' then '+' || phone_digits
            {%- endif %}
            else '+{{ cc }}' || {{ lifecycle.ltrim_chars('phone_digits', "'0'") }}
        end as phone_candidate
    from split

),

final as (

    select
        person_id,
        case
            when trait_first_name is not null or trait_last_name is not null then trait_first_name
            else split_first_name
        end as first_name,
        case
            when trait_first_name is not null or trait_last_name is not null then trait_last_name
            else split_last_name
        end as last_name,
        case
            when length(phone_candidate) between 9 and 16 and substr(phone_candidate, 2, 1) <> '0'
                then phone_candidate
        end as phone_e164
    from phones

)

select * from final
