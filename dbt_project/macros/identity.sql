{#-
    Identity helpers (SPEC section 5). Normalisation lives in one place so staging, identity and
    suppression models all agree on what "the same email" means.
-#}

{#- The canonical email rule, defined in flows/email_rule.py (the Python definition; a test feeds
    one table of edge cases through it, these macros on DuckDB and PostgreSQL, and checks they
    agree, including that the pattern text below is flows.email_rule.EMAIL_PATTERN / TRIM_PATTERN):
    - canonical_email: whitespace trimmed at both ends, lower-cased, NULL unless valid;
    - email_match_key: canonical_email with the local-part dots removed for gmail.com /
      googlemail.com (plus tags kept): the key suppression, lead status and hashing match on;
    - normalize_email: canonical_email, also NULL for a blocked identity value (identity guard
      rail; suppression never uses it, it fails closed). -#}
{% macro normalize_email(column) -%}
    case
        when not {{ lifecycle.is_blocked_identity(lifecycle.canonical_email(column)) }}
            then {{ lifecycle.canonical_email(column) }}
    end
{%- endmacro %}

{% macro email_trim_pattern() -%}
    '^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$'
{%- endmacro %}

{% macro email_valid_pattern() -%}
    '^[^@ \t\n\r\f\v<>(),;:"]+@[^@ \t\n\r\f\v<>(),;:".]+(\.[^@ \t\n\r\f\v<>(),;:".]+)+$'
{%- endmacro %}

{% macro canonical_email(column) -%}
    {%- set trimmed = "lower(" ~ lifecycle.regexp_replace_all(
        "cast(" ~ column ~ " as " ~ dbt.type_string() ~ ")", lifecycle.email_trim_pattern(), "''") ~ ")" -%}
    (case when {{ lifecycle.is_valid_email(trimmed) }} then {{ trimmed }} end)
{%- endmacro %}

{% macro email_match_key(column) -%}
    {%- set email = lifecycle.canonical_email(column) -%}
    (case
        when split_part({{ email }}, '@', 2) in ('gmail.com', 'googlemail.com')
            then nullif(replace(split_part({{ email }}, '@', 1), '.', ''), '') || '@' || split_part({{ email }}, '@', 2)
        else {{ email }}
    end)
{%- endmacro %}

{% macro is_valid_email(expr) -%}
    {{ return(adapter.dispatch('is_valid_email', 'lifecycle')(expr)) }}
{%- endmacro %}

{% macro duckdb__is_valid_email(expr) -%}
    coalesce(regexp_full_match({{ expr }}, {{ lifecycle.email_valid_pattern() }}), false)
{%- endmacro %}

{% macro default__is_valid_email(expr) -%}
    {{ exceptions.raise_compiler_error("is_valid_email is not implemented for adapter " ~ adapter.type()) }}
{%- endmacro %}

{#- True when the trimmed, lower-cased value is in var('blocked_identity_values'): such values
    never link anything. NULL input counts as blocked. -#}
{% macro is_blocked_identity(expr) -%}
    {%- set blocked = var('blocked_identity_values', []) -%}
    coalesce(lower(trim({{ expr }})) in (
        {%- for v in blocked %}'{{ v | lower | trim | replace("'", "''") }}'{{ "," if not loop.last }}{% endfor -%}
        {%- if blocked | length == 0 %}''{% endif -%}
    ), true)
{%- endmacro %}

{#- A usable raw identifier (anonymousId, userId, Zendesk id): trimmed, or NULL when blocked. -#}
{% macro clean_identifier(column) -%}
    case when not {{ lifecycle.is_blocked_identity(column) }} then trim(cast({{ column }} as {{ lifecycle.text_type() }})) end
{%- endmacro %}

{#- person_id from the component's best identifier: stable while the component is unchanged. -#}
{% macro person_id_from(identifier_type, identifier_value) -%}
    'p_' || left(md5({{ identifier_type }} || ':' || {{ identifier_value }}), 16)
{%- endmacro %}

{#- Key of one combination of Segment identifiers seen together on a message: md5 of the
    length-prefixed values (NULL as '-'), so no two combinations share a key whatever their text.
    The web identity models and the web events carry it, so a message finds its person by one join
    on a small table. -#}
{% macro web_identity_key(user_id, email, anonymous_id, alias_previous_id) -%}
    md5(
        {%- for column in [user_id, email, anonymous_id, alias_previous_id] %}
        coalesce(cast(length({{ column }}) as {{ dbt.type_string() }}) || ':' || {{ column }}, '-')
        {%- if not loop.last %} || '|' ||{% endif %}
        {%- endfor %}
    )
{%- endmacro %}

{#- The identity_key of a staged Segment message (stg_segment__events columns): its userId, email,
    anonymousId, and previousId when it is an alias. int_web_events_classified stores it; models
    that read a few staged messages directly compute the same key instead of joining every message. -#}
{% macro segment_message_identity_key() -%}
    {{ lifecycle.web_identity_key('user_id', 'email', 'anonymous_id', "case when type = 'alias' then previous_id end") }}
{%- endmacro %}
