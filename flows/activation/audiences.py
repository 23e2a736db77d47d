"""Audience computation: segment definition -> one de-duplicated, suppressed frame per segment.

One set-based query per segment, run in DuckDB; nothing row-by-row. `compute_audiences` is side-effect
free (reads only), so the data-quality mart gate can call it to check audiences before anything is
synced, and `lifecycle sync --dry-run` can call it on a read-only connection.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import duckdb
import polars as pl
import yaml

from flows.activation.config import (
    MARTS_SCHEMA,
    PERSON_TABLE,
    ActivationConfig,
    ConfigError,
    SegmentConfig,
    load_config,
    relation_columns,
    validate_fields,
)
from flows.activation.state import query_frame
from flows.activation.suppression import (
    canonical_email_sql,
    person_emails_sql,
    support_exclusion_sql,
    suppressed_emails_sql,
)
from flows.settings import DBT_PROJECT_DIR, Settings
from flows.warehouse import quote_ident

PERSON_RELATION = f"{MARTS_SCHEMA}.{PERSON_TABLE}"
# Always present in an audience frame (added when not among the exported fields): destinations and
# the mart gate need the address and phone even when the export does not list them.
# Channel destinations also send the split names and the E.164 phone (int_persons_contact_details).
CONTACT_COLUMNS = ("email", "phone", "phone_e164", "first_name", "last_name")


@cache
def dbt_var(name: str) -> Any:
    """A threshold from dbt_project.yml, so Python and SQL share one definition of each rule."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    return (project.get("vars") or {})[name]


def as_of(con: duckdb.DuckDBPyConnection) -> str | None:
    """The pipeline's as_of (SPEC section 6) as ISO text, from the person table."""
    if "as_of" not in relation_columns(con, PERSON_RELATION):
        return None
    rows = con.execute(f"select max(as_of) from {PERSON_RELATION}").fetchall()
    value = rows[0][0] if rows else None
    return None if value is None else value.isoformat()


def audience_groups(seg: SegmentConfig, config: ActivationConfig | None) -> frozenset[int] | None:
    """The SendGrid unsubscribe groups an audience is sent under, or None when any is undeclared.

    Each destination sends under its own `asm_group_id`, else the segment's. The segment's one
    audience serves all its destinations, so it leaves out the unsubscribes of every group they
    send under (fail closed), and when one destination declares no group, any unsubscribe.
    """
    if config is None:
        return None if seg.asm_group_id is None else frozenset({seg.asm_group_id})
    groups: set[int] = set()
    for name in seg.destinations:
        dest = config.destinations.get(name)
        group = (dest.asm_group_id if dest is not None else None) or seg.asm_group_id
        if group is None:
            return None
        groups.add(group)
    return frozenset(groups) or None


def audience_sql(
    con: duckdb.DuckDBPyConnection, seg: SegmentConfig, asm_group_ids: frozenset[int] | None = None
) -> str:
    """The full SQL of one audience: candidates, minus suppressed addresses, one row per person.

    `asm_group_ids`: the unsubscribe groups it is sent under (audience_groups); None = undeclared.
    """
    person_cols = set(relation_columns(con, PERSON_RELATION))
    model_cols = set(relation_columns(con, seg.relation)) if seg.model else set()

    def source(col: str) -> str:
        return f"m.{quote_ident(col)}" if col in model_cols else f"p.{quote_ident(col)}"

    select = [f"{source(f)} as {quote_ident(f)}" for f in seg.fields]
    for col in CONTACT_COLUMNS:
        if col not in seg.fields:
            expr = f"p.{quote_ident(col)}" if col in person_cols else "cast(null as varchar)"
            select.append(f"{expr} as {quote_ident(col)}")
    if seg.model:
        from_clause = f"{seg.relation} as m\n        inner join {PERSON_RELATION} as p using (person_id)"
        where = "true"
    else:
        from_clause = f"{PERSON_RELATION} as p"
        where = f"({seg.filter})"
    if seg.exclude_support_issues:
        missing = {"open_high_urgent_tickets", "last_bad_csat_at", "as_of"} - person_cols
        if missing:
            raise ConfigError(
                f"segment {seg.name!r}: cannot apply the support exclusion, "
                f"{PERSON_RELATION} lacks {sorted(missing)}"
            )
        days = int(dbt_var("bad_csat_suppression_days"))
        as_of_sql = f"(select max(as_of) from {PERSON_RELATION})"
        where += f"\n          and not {support_exclusion_sql('p', as_of_sql, days)}"
    order = ", ".join(quote_ident(f) for f in seg.fields)
    select_list = ",\n            ".join(select)
    return f"""
    with candidates as (
        select
            {select_list}
        from {from_clause}
        where {where}
    ),
    suppressed as (
        {suppressed_emails_sql(con, PERSON_RELATION, asm_group_ids)}
    ),
    person_emails as (
        {person_emails_sql(con, PERSON_RELATION)}
    ),
    suppressed_persons as (
        select distinct person_emails.person_id
        from person_emails
        inner join suppressed using (email_key)
    ),
    kept as (
        select candidates.*
        from candidates
        left join suppressed
            on suppressed.email_key = {canonical_email_sql("candidates.email")}
        left join suppressed_persons
            on suppressed_persons.person_id = candidates.person_id
        where candidates.email is not null
          and trim(candidates.email) <> ''
          and suppressed.email_key is null
          and suppressed_persons.person_id is null
    ),
    one_per_person as (
        select *
        from kept
        qualify row_number() over (partition by person_id order by {order}) = 1
    )
    -- One row per address too: two persons sharing an address must not get two messages.
    select *
    from one_per_person
    qualify row_number() over (
        partition by {canonical_email_sql("email")} order by person_id
    ) = 1
    order by person_id
    """


def compute_audience(
    con: duckdb.DuckDBPyConnection, seg: SegmentConfig, config: ActivationConfig | None = None
) -> pl.DataFrame:
    try:
        return query_frame(con, audience_sql(con, seg, audience_groups(seg, config)))
    except duckdb.Error as exc:
        first = (str(exc).splitlines() or [""])[0]
        raise ConfigError(
            f"segment {seg.name!r}: its {'model' if seg.model else 'filter'} failed in the warehouse: {first}"
        ) from None


def compute_audiences(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    segments: list[str] | None = None,
    config: ActivationConfig | None = None,
) -> dict[str, pl.DataFrame]:
    """Every selected segment's audience, suppression applied; reads only.

    Each frame has the segment's fields (person_id first) plus `email` and `phone`, one row per person.
    """
    config = config or load_config(settings.segments_file)
    selected = config.select(segments)
    validate_fields(con, selected)
    return {seg.name: compute_audience(con, seg, config) for seg in selected}
