{#-
    One row per email message and campaign (SPEC 7), the grain both email marts aggregate from
    (macro email_messages_rollup_ctes). A message is an sg_message_id (every event of one email
    carries it; an event without one is its own message), counted in the month of its first event.
    It stores no address.
    By default a view of int_email_messages_accumulated, which keeps it a load at a time (at
    100,000 persons re-aggregating every message took 4 s of each daily build). With var('as_of')
    pinned to an earlier moment, a table aggregated from the events up to it (int_email_events_keyed).
-#}
{{ config(materialized=('table' if var('as_of', none) else 'view')) }}
-- depends_on (both paths, whichever one the parse saw): {{ ref('int_email_events_keyed') }},
-- {{ ref('int_email_messages_accumulated') }}

{% if var('as_of', none) %}
with

events as (

    select * from {{ ref('int_email_events_keyed') }}

),

{{ lifecycle.email_messages_rollup_ctes('events') }}

select * from final
{% else %}
with

accumulated as (

    select * from {{ ref('int_email_messages_accumulated') }}

),

final as (

    select * from accumulated

)

select * from final
{% endif %}
