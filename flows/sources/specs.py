"""What each source's records must contain, how typed columns are extracted, and the keys that
make a record a duplicate.

Each `Target` is one set-based SQL statement over `_records` that yields every record once with
either a `reason` (it goes to raw.rejects) or the typed columns of its raw table. Validation and
extraction are the same pass, so a record cannot be both loaded and rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

# ISO-8601 text -> naive UTC. The session time zone is UTC (see loader), so strings without an
# offset are read as UTC and strings with one are converted.
_TS = "(try_cast({x} as timestamptz) at time zone 'UTC')"


def _ts(expr: str) -> str:
    return _TS.format(x=expr)


def _bad_ts(expr: str, label: str) -> str:
    """Reason for a present but unparseable timestamp."""
    return f"when {expr} is not null and {_ts(expr)} is null then 'unparseable {label}: ' || {expr}"


@dataclass(frozen=True)
class Target:
    table: str  # raw table
    entity: str | None  # `_records.entity` this target reads (Zendesk pages); None = all
    key: tuple[str, ...]  # de-duplication key over the batch and the table's history
    columns: tuple[str, ...]  # typed columns, in insert order, plus the JSON column last
    select_sql: str  # from `_records`: line_no, line, reason, *columns


@dataclass(frozen=True)
class SourceSpec:
    name: str
    subdir: str
    patterns: tuple[str, ...]
    targets: tuple[Target, ...]
    zendesk_pages: bool = False
    csv_columns: tuple[str, ...] = ()


def _json_base(fields: list[str], where: str = "true") -> str:
    """Two JSON parses per record: the validating cast, then all paths in one list extract."""
    paths = ", ".join(f"'{p}'" for p in fields)
    return f"""
        with cast_json as (
            -- the one validating parse; the JSON value is what gets stored, with no re-parse
            select file_no, line_no, line, try_cast(line as json) as j
            from _records
            where pre_reason is null and {where}
        ),
        base as (
            select *,
                -- valid JSON that starts with a brace is an object: saves a parse per record
                case
                    when j is null then null
                    when starts_with(ltrim(line), '{{') then 'OBJECT'
                    else json_type(j)
                end as jtype
            from cast_json
        ),
        f as (
            select *,
                case when jtype = 'OBJECT' then json_extract_string(j, [{paths}]) end as v
            from base
        )
    """


def _json_reason(checks: str) -> str:
    return f"""
        case
            when jtype is null then 'malformed JSON'
            when jtype <> 'OBJECT' then 'not a JSON object (' || lower(jtype) || ')'
            {checks}
        end as reason
    """


SEGMENT_TYPES = ("page", "screen", "track", "identify", "alias", "group")


def _not_one_of(expr: str, values: tuple[str, ...]) -> str:
    """`expr not in (...)` as plain comparisons: DuckDB plans an IN list as a join, and a join would
    break the read order that line numbers are taken from (see loader.parse)."""
    return "(" + " and ".join(f"{expr} <> '{v}'" for v in values) + ")"


_WEB_SQL = (
    _json_base(
        [
            "$.messageId",
            "$.type",
            "$.timestamp",
            "$.anonymousId",
            "$.userId",
            "$.event",
            "$.previousId",
        ]
    )
    + f"""
    select file_no, line_no,
        -- the text is kept once: as JSON when valid, as text only when it is not
        case when j is null then line end as line,
        j,
        {
        _json_reason(
            f'''
            when nullif(trim(v[1]), '') is null then 'missing messageId'
            when nullif(trim(v[2]), '') is null then 'missing type'
            when {_not_one_of("lower(v[2])", SEGMENT_TYPES)} then 'unknown type: ' || v[2]
            when v[3] is null then 'missing timestamp'
            when {_ts("v[3]")} is null then 'unparseable timestamp: ' || v[3]
            when nullif(v[4], '') is null and nullif(v[5], '') is null
                then 'missing anonymousId and userId'
            '''
        )
    },
        v[1] as message_id,
        lower(v[2]) as type,
        v[6] as event,
        nullif(v[4], '') as anonymous_id,
        nullif(v[5], '') as user_id,
        v[7] as previous_id,
        {_ts("v[3]")} as ts,
    from f
"""
)

WEB = SourceSpec(
    name="web",
    subdir="web",
    patterns=("*.jsonl", "*.jsonl.gz", "*.ndjson", "*.ndjson.gz", "*.json", "*.json.gz"),
    targets=(
        Target(
            table="raw.segment_events",
            entity=None,
            key=("message_id",),
            columns=(
                "message_id",
                "type",
                "event",
                "anonymous_id",
                "user_id",
                "previous_id",
                "ts",
                "message",
            ),
            select_sql=_WEB_SQL,
        ),
    ),
)

# SendGrid `timestamp` is unix seconds (a number, sometimes a numeric string). Values of 1e11 and
# more are milliseconds (some SendGrid products send those; 1e11 s is the year 5138).
_SG_EPOCH = "try_cast(v[3] as double)"
_SG_TS = (
    f"case when abs({_SG_EPOCH}) <= 1e14 then (to_timestamp(case when abs({_SG_EPOCH}) >= 1e11 "
    f"then {_SG_EPOCH} / 1000 else {_SG_EPOCH} end) at time zone 'UTC') end"
)

_EMAIL_SQL = (
    _json_base(
        [
            "$.sg_event_id",
            "$.event",
            "$.timestamp",
            "$.email",
            "$.sg_message_id",
            "$.type",
            "$.marketing_campaign_id",
            "$.marketing_campaign_name",
            "$.url",
            "$.asm_group_id",
        ]
    )
    + f"""
    select file_no, line_no,
        -- the text is kept once: as JSON when valid, as text only when it is not
        case when j is null then line end as line,
        j,
        {
        _json_reason(
            f'''
            when nullif(trim(v[1]), '') is null then 'missing sg_event_id'
            when nullif(trim(v[2]), '') is null then 'missing event'
            when v[3] is null then 'missing timestamp'
            when {_SG_EPOCH} is null or abs({_SG_EPOCH}) > 1e14
                then 'unparseable timestamp: ' || v[3]
            '''
        )
    },
        v[1] as sg_event_id,
        lower(trim(v[2])) as event,
        v[4] as email,
        v[5] as sg_message_id,
        case when lower(trim(v[2])) = 'bounce' then coalesce(lower(v[6]), 'bounce') end as bounce_type,
        v[7] as marketing_campaign_id,
        v[8] as marketing_campaign_name,
        case when jtype = 'OBJECT' then json_extract(j, '$.category') end as category,
        v[9] as url,
        try_cast(v[10] as bigint) as asm_group_id,
        {_SG_TS} as ts,
    from f
"""
)

EMAIL = SourceSpec(
    name="email",
    subdir="email",
    patterns=("*.json", "*.json.gz", "*.jsonl", "*.jsonl.gz", "*.ndjson", "*.ndjson.gz"),
    targets=(
        Target(
            table="raw.sendgrid_events",
            entity=None,
            key=("sg_event_id", "event"),
            columns=(
                "sg_event_id",
                "event",
                "email",
                "ts",
                "sg_message_id",
                "bounce_type",
                "marketing_campaign_id",
                "marketing_campaign_name",
                "category",
                "url",
                "asm_group_id",
                "message",
            ),
            select_sql=_EMAIL_SQL,
        ),
    ),
)

_BIGINT = "try_cast(try_cast({x} as double) as bigint)"


def _int(expr: str) -> str:
    return _BIGINT.format(x=expr)


_TICKETS_SQL = (
    _json_base(
        [
            "$.id",
            "$.requester_id",
            "$.status",
            "$.priority",
            "$.via.channel",
            "$.subject",
            "$.created_at",
            "$.updated_at",
            "$.satisfaction_rating.score",
        ],
        where="entity = 'tickets'",
    )
    + f"""
    select file_no, line_no,
        -- the text is kept once: as JSON when valid, as text only when it is not
        case when j is null then line end as line,
        j,
        {
        _json_reason(
            f'''
            when v[1] is null then 'missing id'
            when {_int("v[1]")} is null then 'non-integer id: ' || v[1]
            when v[7] is null then 'missing created_at'
            when v[8] is null then 'missing updated_at'
            {_bad_ts("v[7]", "created_at")}
            {_bad_ts("v[8]", "updated_at")}
            '''
        )
    },
        {_int("v[1]")} as id,
        {_int("v[2]")} as requester_id,
        v[3] as status,
        v[4] as priority,
        v[5] as via_channel,
        v[6] as subject,
        {_ts("v[7]")} as created_at,
        {_ts("v[8]")} as updated_at,
        v[9] as satisfaction_score,
    from f
"""
)

_USERS_SQL = (
    _json_base(
        ["$.id", "$.email", "$.name", "$.phone", "$.created_at", "$.updated_at"],
        where="entity = 'users'",
    )
    + f"""
    select file_no, line_no,
        -- the text is kept once: as JSON when valid, as text only when it is not
        case when j is null then line end as line,
        j,
        {
        _json_reason(
            f'''
            when v[1] is null then 'missing id'
            when {_int("v[1]")} is null then 'non-integer id: ' || v[1]
            {_bad_ts("v[5]", "created_at")}
            {_bad_ts("v[6]", "updated_at")}
            '''
        )
    },
        {_int("v[1]")} as id,
        v[2] as email,
        v[3] as name,
        v[4] as phone,
        {_ts("v[5]")} as created_at,
        {_ts("v[6]")} as updated_at,
    from f
"""
)

_METRICS_SQL = (
    _json_base(
        [
            "$.id",
            "$.ticket_id",
            "$.created_at",
            "$.updated_at",
            "$.solved_at",
            "$.replies",
            "$.reply_time_in_minutes.calendar",
            "$.first_resolution_time_in_minutes.calendar",
            "$.full_resolution_time_in_minutes.calendar",
        ],
        where="entity = 'ticket_metrics'",
    )
    + f"""
    select file_no, line_no,
        -- the text is kept once: as JSON when valid, as text only when it is not
        case when j is null then line end as line,
        j,
        {
        _json_reason(
            f'''
            when v[1] is null then 'missing id'
            when {_int("v[1]")} is null then 'non-integer id: ' || v[1]
            when v[2] is null then 'missing ticket_id'
            when {_int("v[2]")} is null then 'non-integer ticket_id: ' || v[2]
            {_bad_ts("v[3]", "created_at")}
            {_bad_ts("v[4]", "updated_at")}
            {_bad_ts("v[5]", "solved_at")}
            '''
        )
    },
        {_int("v[1]")} as id,
        {_int("v[2]")} as ticket_id,
        {_ts("v[3]")} as created_at,
        {_ts("v[4]")} as updated_at,
        {_ts("v[5]")} as solved_at,
        try_cast({_int("v[6]")} as integer) as replies,
        try_cast({_int("v[7]")} as integer) as reply_time_calendar_minutes,
        try_cast({_int("v[8]")} as integer) as first_resolution_time_calendar_minutes,
        try_cast({_int("v[9]")} as integer) as full_resolution_time_calendar_minutes,
    from f
"""
)

TICKETS = SourceSpec(
    name="tickets",
    subdir="tickets",
    patterns=("*.json", "*.json.gz"),
    zendesk_pages=True,
    targets=(
        Target(
            table="raw.zendesk_tickets",
            entity="tickets",
            key=("id", "updated_at"),
            columns=(
                "id",
                "requester_id",
                "status",
                "priority",
                "via_channel",
                "subject",
                "created_at",
                "updated_at",
                "satisfaction_score",
                "record",
            ),
            select_sql=_TICKETS_SQL,
        ),
        Target(
            table="raw.zendesk_users",
            entity="users",
            key=("id", "updated_at"),
            columns=("id", "email", "name", "phone", "created_at", "updated_at", "record"),
            select_sql=_USERS_SQL,
        ),
        Target(
            table="raw.zendesk_ticket_metrics",
            entity="ticket_metrics",
            key=("id", "updated_at"),
            columns=(
                "id",
                "ticket_id",
                "created_at",
                "updated_at",
                "solved_at",
                "replies",
                "reply_time_calendar_minutes",
                "first_resolution_time_calendar_minutes",
                "full_resolution_time_calendar_minutes",
                "record",
            ),
            select_sql=_METRICS_SQL,
        ),
    ),
)

# CSV sources: `_records` holds the parsed CSV columns as VARCHAR (see csv staging in loader).
_SPEND_SQL = """
    select 0 as file_no, line_no, line,
        case
            when nullif(trim(c_date), '') is null then 'missing date'
            when try_cast(trim(c_date) as date) is null then 'unparseable date: ' || c_date
            when nullif(trim(c_source), '') is null then 'missing source'
            when nullif(trim(c_medium), '') is null then 'missing medium'
            when nullif(trim(c_spend), '') is null then 'missing spend'
            when try_cast(trim(c_spend) as decimal(18, 2)) is null then 'non-numeric spend: ' || c_spend
            when nullif(trim(c_currency), '') is null then 'missing currency'
        end as reason,
        try_cast(trim(c_date) as date) as date,
        trim(c_source) as source,
        trim(c_medium) as medium,
        nullif(trim(c_campaign), '') as campaign,
        try_cast(trim(c_spend) as decimal(18, 2)) as spend,
        upper(trim(c_currency)) as currency
    from _csv
    where pre_reason is null
"""

SPEND = SourceSpec(
    name="spend",
    subdir="spend",
    patterns=("*.csv", "*.csv.gz"),
    csv_columns=("date", "source", "medium", "campaign", "spend", "currency"),
    targets=(
        Target(
            table="raw.spend",
            entity=None,
            key=("date", "source", "medium", "campaign", "spend", "currency"),
            columns=("date", "source", "medium", "campaign", "spend", "currency"),
            select_sql=_SPEND_SQL,
        ),
    ),
)

_ERASURE_SQL = f"""
    select 0 as file_no, line_no, line,
        case
            when nullif(trim(c_email), '') is null then 'missing email'
            when nullif(trim(c_requested_at), '') is null then 'missing requested_at'
            when {_ts("trim(c_requested_at)")} is null then 'unparseable requested_at: ' || c_requested_at
        end as reason,
        trim(c_email) as email,
        {_ts("trim(c_requested_at)")} as requested_at
    from _csv
    where pre_reason is null
"""

ERASURE = SourceSpec(
    name="erasure",
    subdir="erasure",
    patterns=("*.csv", "*.csv.gz"),
    csv_columns=("email", "requested_at"),
    targets=(
        Target(
            table="raw.erasure_requests",
            entity=None,
            key=("email", "requested_at"),
            columns=("email", "requested_at"),
            select_sql=_ERASURE_SQL,
        ),
    ),
)

SPECS: dict[str, SourceSpec] = {s.name: s for s in (WEB, EMAIL, TICKETS, SPEND, ERASURE)}
