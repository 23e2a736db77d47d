"""What each source's records must contain, how typed columns are extracted, and the keys that
make a record a duplicate - declared as data, the way dlt declares a resource's columns.

A raw table is a `Target`: a tuple of `Column`s (name, JSON path or CSV header, DuckDB type,
required, the reason a bad value is rejected with), its de-duplication key and cross-field `Rule`s.
From that one declaration this module generates

- `Target.select_sql`: one set-based statement over the staged records that yields every record
  once with either a `reason` (it goes to raw.rejects) or the typed columns of its raw table.
  Validation and extraction are the same pass, so a record cannot be both loaded and rejected.
- the `create table` statements of the raw tables in schema.sql (`render_schema`; the file's
  generated block is rewritten by `python -m flows.sources.specs --write-schema`, and
  tests/sources/test_declare.py fails while it is stale).

Adding a raw field is one `Column` here plus its staging model (docs/architecture.md "Adding a raw
field"). Reasons are checked in column order (a column's "missing" check, then its value check),
then the target's rules; `check_order` overrides that order where a source has always reported
differently (tickets), so reject reasons stay what they were.
"""

from __future__ import annotations

import argparse
import re
import string
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

# --- Value templates: SQL over `{x}`, the field as text (NULL when absent) ---------------------

# ISO-8601 text -> naive UTC. The session time zone is UTC (see ingest), so strings without an
# offset are read as UTC and strings with one are converted.
TS = "(try_cast({x} as timestamptz) at time zone 'UTC')"
# A JSON number or numeric string -> bigint ("12", 12, 12.0; not "12a").
INT = "try_cast(try_cast({x} as double) as bigint)"
INT32 = f"try_cast({INT} as integer)"
# SendGrid `timestamp` is unix seconds (a number, sometimes a numeric string). Values of 1e11 and
# more are milliseconds (some SendGrid products send those; 1e11 s is the year 5138).
# https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event#event-objects
_EPOCH = "try_cast({x} as double)"
SG_EPOCH = (
    f"case when abs({_EPOCH}) <= 1e14 then (to_timestamp(case when abs({_EPOCH}) >= 1e11 "
    f"then {_EPOCH} / 1000 else {_EPOCH} end) at time zone 'UTC') end"
)
SG_EPOCH_INVALID = f"{_EPOCH} is null or abs({_EPOCH}) > 1e14"


def not_one_of(expr: str, values: tuple[str, ...]) -> str:
    """`expr not in (...)` as plain comparisons: DuckDB plans an IN list as a join, and a join would
    break the read order that line numbers are taken from (see loader.parse)."""
    return "(" + " and ".join(f"{expr} <> '{v}'" for v in values) + ")"


@dataclass(frozen=True)
class Column:
    """One typed column of a raw table and how a record's field becomes it.

    `value` and `invalid_when` are SQL templates: `{x}` is the field's text (`path` extracted as
    a string; for CSV the header's column), `{value}` the column's typed value, `{<column>}` another
    column's typed value. A column without `path` is computed by `value` alone.
    """

    name: str
    type: str  # DuckDB type in raw.<table>
    path: str | None = None  # JSON path ('$.via.channel') or CSV header name
    value: str = "{x}"
    required: bool = False  # absent -> 'missing <field>'; NOT NULL in the raw table
    blank_is_missing: bool = False  # '' or spaces count as absent
    invalid: str | None = None  # present but `invalid_when` -> '<invalid> <field>: <text>'
    invalid_when: str = "{value} is null"
    compression: str | None = None  # e.g. zstd for unique ids (see schema.sql header)
    comment: str = ""
    # Declared after warehouses existed: schema.sql also adds it to an existing table (NULL for
    # rows loaded before; their JSON column still holds the field). Cannot be required.
    added: bool = False

    @property
    def field_label(self) -> str:
        """The field's name as reject reasons spell it: the last step of its path."""
        assert self.path is not None
        return self.path.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Rule:
    """A check across fields: `when` is SQL over `{<column>}` typed values, `reason` a literal."""

    name: str
    when: str
    reason: str


@dataclass(frozen=True)
class Target:
    """One raw table: its declared columns and everything generated from them."""

    table: str  # raw table
    key: tuple[str, ...]  # de-duplication key over the batch and the table's history
    fields: tuple[Column, ...]
    rules: tuple[Rule, ...] = ()
    entity: str | None = None  # `_records.entity` this target reads (Zendesk pages); None = all
    json_column: str | None = None  # the whole original record, as JSON (JSON sources)
    check_order: tuple[str, ...] = ()  # check ids ('<column>:missing|invalid', rule names)
    comment: str = ""
    staged_table: str = "_records"  # what select_sql reads (CSV sources: `_csv`)

    @property
    def is_csv(self) -> bool:
        return self.json_column is None

    @property
    def columns(self) -> tuple[str, ...]:
        """Typed columns in insert order, plus the JSON column last."""
        names = tuple(c.name for c in self.fields)
        return (*names, self.json_column) if self.json_column else names

    @property
    def paths(self) -> tuple[str, ...]:
        """Distinct field paths in column order (one list extract per record reads them all)."""
        return tuple(dict.fromkeys(c.path for c in self.fields if c.path is not None))

    def raw_expr(self, column: Column) -> str:
        """SQL for a column's field as text."""
        if column.path is None:
            return "null"
        if self.is_csv:
            return f"c_{column.path}"
        return f"v[{self.paths.index(column.path) + 1}]"

    def value_expr(self, column: Column) -> str:
        return _render(self, column.value, column)

    def checks(self) -> list[tuple[str, str, str]]:
        """(check id, SQL condition, SQL reason) in the order they are tried."""
        out: list[tuple[str, str, str]] = []
        for c in self.fields:
            x = self.raw_expr(c)
            if c.required:
                absent = f"nullif(trim({x}), '') is null" if c.blank_is_missing else f"{x} is null"
                out.append((f"{c.name}:missing", absent, f"'missing {c.field_label}'"))
            if c.invalid is not None:
                bad = _render(self, c.invalid_when, c)
                if not c.required:
                    bad = f"{x} is not null and {bad}"
                out.append((f"{c.name}:invalid", bad, f"'{c.invalid} {c.field_label}: ' || {x}"))
        out.extend((r.name, _render(self, r.when, None), f"'{r.reason}'") for r in self.rules)
        if self.check_order:
            by_id = {check[0]: check for check in out}
            if sorted(self.check_order) != sorted(by_id):
                raise ValueError(f"{self.table}: check_order must list {sorted(by_id)}")
            out = [by_id[i] for i in self.check_order]
        return out

    @cached_property
    def select_sql(self) -> str:
        """From the staged records: file_no, line_no, line, [j,] reason, *typed columns."""
        values = ",\n        ".join(f"{self.value_expr(c)} as {c.name}" for c in self.fields)
        whens = "\n            ".join(f"when {cond} then {reason}" for _, cond, reason in self.checks())
        if self.is_csv:
            return f"""
    select 0 as file_no, line_no, line,
        case
            {whens}
        end as reason,
        {values},
    from {self.staged_table}
    where pre_reason is null
"""
        entity = "" if self.entity is None else f" and entity = '{self.entity}'"
        paths = ", ".join(f"'{p}'" for p in self.paths)
        return f"""
    with cast_json as (
        -- the one validating parse; the JSON value is what gets stored, with no re-parse
        select file_no, line_no, line, try_cast(line as json) as j
        from {self.staged_table}
        where pre_reason is null{entity}
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
    select file_no, line_no,
        -- the text is kept once: as JSON when valid, as text only when it is not
        case when j is null then line end as line,
        j,
        case
            when jtype is null then 'malformed JSON'
            when jtype <> 'OBJECT' then 'not a JSON object (' || lower(jtype) || ')'
            {whens}
        end as reason,
        {values},
    from f
"""

    def create_table_sql(self) -> str:
        """The raw table's DDL: declared columns, the JSON column, then the lineage columns."""
        rows: list[tuple[str, str, str]] = []  # (name, type and constraints, comment)
        for c in self.fields:
            ddl = c.type + (" not null" if c.required else "")
            ddl += f" using compression {c.compression}" if c.compression else ""
            rows.append((c.name, ddl, c.comment))
        if self.json_column:
            rows.append(
                (self.json_column, "json not null using compression zstd", "the whole original record")
            )
        rows += [
            ("_file", "varchar not null", ""),  # lineage columns: see the file's header
            ("_line", "bigint not null", ""),
            ("_loaded_at", "timestamp not null", ""),
        ]
        name_width = max(len(name) for name, _, _ in rows)
        texts = [
            f"{name.ljust(name_width)} {ddl}" + ("," if i < len(rows) - 1 else "")
            for i, (name, ddl, _) in enumerate(rows)
        ]
        width = max(len(t) for t in texts)
        lines = [
            f"    {t.ljust(width)}  -- {comment}" if comment else f"    {t}"
            for t, (_, _, comment) in zip(texts, rows, strict=True)
        ]
        head = "".join(f"-- {line}\n" for line in self.comment.splitlines())
        alters = ""
        for c in self.fields:
            if c.added:
                if c.required:
                    raise ValueError(f"{self.table}.{c.name}: an added column cannot be required")
                alters += f"alter table {self.table} add column if not exists {c.name} {c.type};\n"
        return f"{head}create table if not exists {self.table} (\n" + "\n".join(lines) + "\n);\n" + alters


def _render(target: Target, template: str, column: Column | None) -> str:
    """Fill a template's `{x}`, `{value}` and `{<column>}` (other columns' typed values)."""
    by_name = {c.name: c for c in target.fields}
    subs: dict[str, str] = {}
    for _, name, _, _ in string.Formatter().parse(template):
        if name is None or name in subs:
            continue
        if name == "x":
            assert column is not None
            subs[name] = target.raw_expr(column)
        elif name == "value":
            assert column is not None
            subs[name] = target.value_expr(column)
        elif name in by_name and by_name[name] is not column:
            subs[name] = target.value_expr(by_name[name])
        else:
            raise KeyError(f"{target.table}: unknown placeholder {{{name}}} in {template!r}")
    return template.format(**subs)


@dataclass(frozen=True)
class SourceSpec:
    name: str
    subdir: str
    patterns: tuple[str, ...]
    targets: tuple[Target, ...]
    zendesk_pages: bool = False

    @property
    def csv_columns(self) -> tuple[str, ...]:
        """The header names a CSV source needs (empty for JSON sources)."""
        return tuple(c.path for t in self.targets if t.is_csv for c in t.fields if c.path is not None)


def _csv_text(**kw) -> Column:
    """A CSV field: blank counts as missing, values are trimmed."""
    kw.setdefault("value", "trim({x})")
    return Column(path=kw["name"], blank_is_missing=True, **kw)


def _one_table_source(name: str, patterns: tuple[str, ...], **target: Any) -> SourceSpec:
    """A source of DIR/raw/<name>/ files (`patterns`) loading one table, declared by `target`."""
    return SourceSpec(name=name, subdir=name, patterns=patterns, targets=(Target(**target),))


# --- Declarations ------------------------------------------------------------------------------

SEGMENT_TYPES = ("page", "screen", "track", "identify", "alias", "group")

# SPEC 4.1 Segment messages: https://segment.com/docs/connections/spec/common/
WEB = _one_table_source(
    "web",
    ("*.jsonl", "*.jsonl.gz", "*.ndjson", "*.ndjson.gz", "*.json", "*.json.gz"),
    table="raw.segment_events",
    comment="SPEC 4.1 Segment messages. Unique on message_id (de-duplicated by anti-join at load).",
    key=("message_id",),
    json_column="message",
    fields=(
        Column(
            "message_id",
            "varchar",
            "$.messageId",
            required=True,
            blank_is_missing=True,
            compression="zstd",
        ),
        Column(
            "type",
            "varchar",
            "$.type",
            value="lower({x})",
            required=True,
            blank_is_missing=True,
            invalid="unknown",
            invalid_when=not_one_of("{value}", SEGMENT_TYPES),
            comment="page|screen|track|identify|alias|group (lower-cased)",
        ),
        Column("event", "varchar", "$.event", comment="track event name"),
        Column("anonymous_id", "varchar", "$.anonymousId", value="nullif({x}, '')"),
        Column("user_id", "varchar", "$.userId", value="nullif({x}, '')"),
        Column("previous_id", "varchar", "$.previousId", comment="alias"),
        Column(
            "ts",
            "timestamp",
            "$.timestamp",
            value=TS,
            required=True,
            invalid="unparseable",
            comment="message `timestamp`, UTC",
        ),
    ),
    rules=(
        Rule(
            "identity:missing",
            "{anonymous_id} is null and {user_id} is null",
            "missing anonymousId and userId",
        ),
    ),
)

# SPEC 4.2 SendGrid Event Webhook:
# https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event
EMAIL = _one_table_source(
    "email",
    ("*.json", "*.json.gz", "*.jsonl", "*.jsonl.gz", "*.ndjson", "*.ndjson.gz"),
    table="raw.sendgrid_events",
    comment="SPEC 4.2 SendGrid events. De-duplicated on (sg_event_id, event); see DECISIONS.md.",
    key=("sg_event_id", "event"),
    json_column="message",
    fields=(
        Column(
            "sg_event_id",
            "varchar",
            "$.sg_event_id",
            required=True,
            blank_is_missing=True,
            compression="zstd",
        ),
        Column(
            "event",
            "varchar",
            "$.event",
            value="lower(trim({x}))",
            required=True,
            blank_is_missing=True,
        ),
        Column("email", "varchar", "$.email"),
        Column(
            "ts",
            "timestamp",
            "$.timestamp",
            value=SG_EPOCH,
            required=True,
            invalid="unparseable",
            invalid_when=SG_EPOCH_INVALID,
            comment="from unix seconds (or milliseconds)",
        ),
        Column("sg_message_id", "varchar", "$.sg_message_id"),
        Column(
            "bounce_type",
            "varchar",
            "$.type",
            value="case when {event} = 'bounce' then coalesce(lower({x}), 'bounce') end",
            comment="`type` on bounce events: bounce|blocked",
        ),
        Column("marketing_campaign_id", "varchar", "$.marketing_campaign_id"),
        Column("marketing_campaign_name", "varchar", "$.marketing_campaign_name"),
        Column(
            "category",
            "json",
            value="case when jtype = 'OBJECT' then json_extract(j, '$.category') end",
            comment="string or array, as sent",
        ),
        Column("url", "varchar", "$.url"),
        Column("asm_group_id", "bigint", "$.asm_group_id", value="try_cast({x} as bigint)"),
    ),
)


def _zendesk_id(name: str, path: str, *, required: bool = True) -> Column:
    return Column(
        name, "bigint", path, value=INT, required=required, invalid="non-integer" if required else None
    )


def _zendesk_ts(name: str, *, required: bool = False) -> Column:
    return Column(name, "timestamp", f"$.{name}", value=TS, required=required, invalid="unparseable")


def _minutes(name: str, path: str) -> Column:
    return Column(name, "integer", path, value=INT32)


def _zendesk_target(entity: str, *fields: Column, **kw: Any) -> Target:
    """One entity of the Zendesk exports: raw.zendesk_<entity>, every version kept, unique on
    (id, updated_at), the record as JSON; its `id` is the first field."""
    return Target(
        table=f"raw.zendesk_{entity}",
        entity=entity,
        key=("id", "updated_at"),
        json_column="record",
        fields=(_zendesk_id("id", "$.id"), *fields),
        **kw,
    )


# SPEC 4.3 Zendesk incremental exports:
# https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/
TICKETS = SourceSpec(
    name="tickets",
    subdir="tickets",
    patterns=("*.json", "*.json.gz"),
    zendesk_pages=True,
    targets=(
        _zendesk_target(
            "tickets",
            _zendesk_id("requester_id", "$.requester_id", required=False),
            Column("status", "varchar", "$.status"),
            Column("priority", "varchar", "$.priority"),
            Column("via_channel", "varchar", "$.via.channel"),
            Column("subject", "varchar", "$.subject"),
            _zendesk_ts("created_at", required=True),
            _zendesk_ts("updated_at", required=True),
            Column(
                "satisfaction_score",
                "varchar",
                "$.satisfaction_rating.score",
                comment="offered|unoffered|good|bad",
            ),
            comment="SPEC 4.3 Zendesk. Every ticket version kept; unique on (id, updated_at).",
            # Both timestamps are looked for before either is parsed (the order tickets always had).
            check_order=(
                "id:missing",
                "id:invalid",
                "created_at:missing",
                "updated_at:missing",
                "created_at:invalid",
                "updated_at:invalid",
            ),
        ),
        _zendesk_target(
            "users",
            Column("email", "varchar", "$.email"),
            Column("name", "varchar", "$.name"),
            Column("phone", "varchar", "$.phone"),
            _zendesk_ts("created_at"),
            _zendesk_ts("updated_at"),
        ),
        _zendesk_target(
            "ticket_metrics",
            _zendesk_id("ticket_id", "$.ticket_id"),
            _zendesk_ts("created_at"),
            _zendesk_ts("updated_at"),
            _zendesk_ts("solved_at"),
            _minutes("replies", "$.replies"),
            _minutes("reply_time_calendar_minutes", "$.reply_time_in_minutes.calendar"),
            _minutes("first_resolution_time_calendar_minutes", "$.first_resolution_time_in_minutes.calendar"),
            _minutes("full_resolution_time_calendar_minutes", "$.full_resolution_time_in_minutes.calendar"),
        ),
    ),
)


def _csv_source(name: str, table: str, comment: str, *fields: Column) -> SourceSpec:
    """A CSV source: DIR/raw/<name>/*.csv[.gz] into one table, de-duplicated on all its columns
    (a row has no id of its own). The staged `_csv` holds the header's columns as VARCHAR
    `c_<name>` (records.stage_csv)."""
    key = tuple(f.name for f in fields)
    patterns = ("*.csv", "*.csv.gz")
    return _one_table_source(
        name, patterns, table=table, comment=comment, staged_table="_csv", key=key, fields=fields
    )


SPEND = _csv_source(
    "spend",
    "raw.spend",
    "Marketing spend CSV: date, source, medium, campaign, spend, currency.",
    _csv_text(
        name="date", type="date", value="try_cast(trim({x}) as date)", required=True, invalid="unparseable"
    ),
    _csv_text(name="source", type="varchar", required=True),
    _csv_text(name="medium", type="varchar", required=True),
    _csv_text(name="campaign", type="varchar", value="nullif(trim({x}), '')"),
    _csv_text(
        name="spend",
        type="decimal(18, 2)",
        value="try_cast(trim({x}) as decimal(18, 2))",
        required=True,
        invalid="non-numeric",
    ),
    _csv_text(name="currency", type="varchar", value="upper(trim({x}))", required=True),
)

ERASURE = _csv_source(
    "erasure",
    "raw.erasure_requests",
    "Right-to-be-forgotten requests: email, requested_at.",
    _csv_text(name="email", type="varchar", required=True),
    _csv_text(
        name="requested_at",
        type="timestamp",
        value=TS.format(x="trim({x})"),
        required=True,
        invalid="unparseable",
    ),
)

SPECS: dict[str, SourceSpec] = {s.name: s for s in (WEB, EMAIL, TICKETS, SPEND, ERASURE)}
TARGETS: tuple[Target, ...] = tuple(t for s in SPECS.values() for t in s.targets)

# --- schema.sql: its source tables are generated from the declarations above -------------------

SCHEMA_SQL = Path(__file__).resolve().parent / "schema.sql"
_BEGIN = "-- >>> generated from flows/sources/specs.py: python -m flows.sources.specs --write-schema\n"
_END = "-- <<< end of generated tables\n"
_BLOCK = re.compile(re.escape(_BEGIN) + r".*?" + re.escape(_END), re.S)


def render_schema() -> str:
    """The generated block of schema.sql: every declared raw table, in declaration order."""
    return _BEGIN + "\n".join(t.create_table_sql() for t in TARGETS) + _END


def schema_with_generated_block(text: str) -> str:
    if not _BLOCK.search(text):
        raise ValueError(f"{SCHEMA_SQL}: no generated block ({_BEGIN.strip()!r} ... {_END.strip()!r})")
    return _BLOCK.sub(lambda _: render_schema(), text, count=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="regenerate the raw tables of schema.sql")
    parser.add_argument("--write-schema", action="store_true", help="rewrite schema.sql's generated block")
    args = parser.parse_args(argv)
    current = SCHEMA_SQL.read_text()
    wanted = schema_with_generated_block(current)
    if args.write_schema:
        if wanted != current:
            SCHEMA_SQL.write_text(wanted)
        print(f"{SCHEMA_SQL}: {'rewritten' if wanted != current else 'up to date'}")
        return 0
    print(render_schema(), end="")
    return 0 if wanted == current else 1


if __name__ == "__main__":
    sys.exit(main())
