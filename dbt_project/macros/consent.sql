{#-
    Reading consent signals out of quarantined SendGrid records (raw.rejects.raw_text), for
    int_email_consent_events (SPEC 10: an opt-out is never lost). The text may be malformed JSON
    (that can be why it was quarantined), so the fields are read with anchored-on-the-key regular
    expressions rather than a JSON parse: that reads a truncated record too, and gives the same
    answer on DuckDB and PostgreSQL (PostgreSQL 15 has no JSON parse that returns NULL instead of
    raising). SendGrid events are flat objects (https://www.twilio.com/docs/sendgrid/for-developers/
    tracking-events/event#event-objects), so the first `"key": value` in the text is the top-level one.
-#}

{#- The first capture group of `pattern` in `text`, NULL when it does not match (or matches empty). -#}
{% macro regex_group(text, pattern) -%}
    {{ return(adapter.dispatch('regex_group', 'lifecycle')(text, pattern)) }}
{%- endmacro %}

{% macro duckdb__regex_group(text, pattern) -%}
    nullif(regexp_extract({{ text }}, '{{ pattern }}', 1), '')
{%- endmacro %}

{% macro default__regex_group(text, pattern) -%}
    {{ exceptions.raise_compiler_error("regex_group is not implemented for adapter " ~ adapter.type()) }}
{%- endmacro %}

{#- A JSON string member `"key": "value"` of a flat object, as text (JSON escapes are not decoded). -#}
{% macro json_text_member(text, key) -%}
    {{ lifecycle.regex_group(text, '"' ~ key ~ '"\\s*:\\s*"([^"]*)"') }}
{%- endmacro %}

{#- A numeric member, bare or quoted (`"timestamp": 1700000000` or `"asm_group_id": "42"`), as text. -#}
{% macro json_number_member(text, key) -%}
    {{ lifecycle.regex_group(text, '"' ~ key ~ '"\\s*:\\s*"?\\s*(-?[0-9]+(\\.[0-9]+)?)\\s*"?\\s*[,}]') }}
{%- endmacro %}

{#- SendGrid `timestamp` text (unix seconds; 1e11 and more are milliseconds, as at ingest in
    flows/sources/specs.py) to a naive UTC timestamp; NULL when absent or out of range. -#}
{% macro sendgrid_epoch_to_timestamp(epoch_text) -%}
    case
        when {{ epoch_text }} is not null and length({{ epoch_text }}) <= 24
            and abs(cast({{ epoch_text }} as {{ lifecycle.double_type() }})) <= 100000000000000
            then {{ lifecycle.utc_timestamp_from_epoch(
                "case
                    when abs(cast(" ~ epoch_text ~ " as " ~ lifecycle.double_type() ~ ")) >= 100000000000
                        then cast(" ~ epoch_text ~ " as " ~ lifecycle.double_type() ~ ") / 1000
                    else cast(" ~ epoch_text ~ " as " ~ lifecycle.double_type() ~ ")
                end"
            ) }}
    end
{%- endmacro %}
