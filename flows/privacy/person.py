"""One person, explained and exported: `lifecycle person show|export` (SPEC 10, issue 15 item 5).

For the analytics engineer ("why is this person in win_back and not in upsell?") and the privacy
officer ("what do we hold about this address?"). Plain functions over a READ-ONLY warehouse
connection: nothing here writes the warehouse, needs a Prefect server or imports Prefect, so the
commands work while no pipeline runs and never block one for longer than their read.

- `find_person` resolves EMAIL (by the one match key of flows/email_rule.py, over every address of
  every person), a person_id, or any other identifier value (userId, anonymousId, Zendesk user id).
- `explain_person` gathers identifiers and the records that linked them, stage history, lead
  status and each lead-score part, segment membership with the reason for every segment the person
  is not in (no address, not matching, suppressed and why, support exclusion, holdout, duplicate
  address), and consent by SendGrid unsubscribe group. `render_text` prints it for people.
- `export_person` collects everything held about the person: every warehouse row keyed by its
  person_id, every row keyed by one of its addresses, the raw records of its identifiers (raw
  message JSON decoded), quarantined lines naming an identifier, and sync state; `write_export`
  writes it as JSON (mode 0600, temp file then rename).

Set-based SQL throughout: the person's identifiers go into a temporary table once, and every
lookup is one join against it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from flows.email_rule import match_key, match_key_sql
from flows.errors import LifecycleError
from flows.settings import Settings
from flows.warehouse import quote_ident, relation_exists

PERSONS = "marts.dim_persons"
IDENTITY_MAP = "intermediate.int_identity_map"
WEB_IDENTITIES = "intermediate.int_web_identities_deduplicated"
TRANSITIONS = "marts.fct_lifecycle_transitions"
LEAD_SCORES = "intermediate.int_lead_scores_computed"
SUPPRESSIONS = "intermediate.int_email_suppressions"
CONSENT_BY_GROUP = "intermediate.int_email_consent_by_group"
CONSENT_BY_PERSON = "intermediate.int_email_consent_by_person"
CONSENT_EVENTS = "intermediate.int_email_consent_events"
# Schemas an export reads (dbt's own and the pipeline's); `privacy` holds only keyed hashes.
EXPORT_SCHEMAS = ("raw", "staging", "intermediate", "marts", "snapshots", "sync", "quality")
_PERSON_ID_RE = re.compile(r"^p_[0-9a-f]{16}$")


class PersonNotFound(LifecycleError):
    """No person has that email or id."""


@dataclass
class Person:
    """A resolved person: its id and every identifier of its component."""

    person_id: str
    identifiers: list[tuple[str, str]] = field(default_factory=list)  # (type, value)

    @property
    def emails(self) -> list[str]:
        return [v for t, v in self.identifiers if t == "email"]


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    schema, name = relation.split(".", 1)
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [schema, name],
    ).fetchall()
    return [r[0] for r in rows]


def open_read_only(settings: Settings) -> duckdb.DuckDBPyConnection:
    """The warehouse, read-only; one clear error when it is missing or a run holds it."""
    path = settings.warehouse_path
    if not path.exists():
        raise LifecycleError(f"no warehouse at {path}", hint="run `lifecycle run` first")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        first = (str(exc).splitlines() or [""])[0]
        raise LifecycleError(
            f"cannot open {path} read-only: {first}", hint="a pipeline run may hold it; retry when it ends"
        ) from None
    con.execute("set enable_progress_bar = false")
    if not relation_exists(con, PERSONS) or not relation_exists(con, IDENTITY_MAP):
        con.close()
        raise LifecycleError(
            f"{path} has no built persons yet", hint="run `lifecycle run` or `lifecycle build`"
        )
    return con


def find_person(con: duckdb.DuckDBPyConnection, ref: str) -> Person:
    """The person of an email (match key), a person_id, or another identifier value."""
    text = ref.strip()
    key = match_key(text)
    ids = _rows(
        con,
        f"""
        with wanted as (select cast($ref as varchar) as ref, cast($key as varchar) as key)
        select distinct person_id from {PERSONS} where person_id = (select ref from wanted)
        union
        select distinct person_id from {IDENTITY_MAP}
        where (identifier_type = 'email'
               and {match_key_sql("identifier_value")} = (select key from wanted))
           or (identifier_type <> 'email' and identifier_value = (select ref from wanted))
        union
        select distinct person_id from {PERSONS}
        where email is not null and {match_key_sql("email")} = (select key from wanted)
        """,
        {"ref": text, "key": key},  # type: ignore[arg-type]
    )
    found = sorted(r["person_id"] for r in ids)
    if not found:
        what = "email" if key else ("person_id" if _PERSON_ID_RE.match(text) else "identifier")
        raise PersonNotFound(
            f"no person with {what} {text!r} in the warehouse",
            hint="check the spelling, or run `lifecycle run` if the data is new",
        )
    person_id = found[0]  # one address maps to one component; person_id order makes ties stable
    identifiers = con.execute(
        f"select identifier_type, identifier_value from {IDENTITY_MAP} where person_id = ? order by node_key",
        [person_id],
    ).fetchall()
    person = Person(person_id=person_id, identifiers=[(t, v) for t, v in identifiers])
    if not person.identifiers:
        rows = _rows(con, f"select email, user_id from {PERSONS} where person_id = ?", [person_id])
        if rows and rows[0]["email"]:
            person.identifiers.append(("email", rows[0]["email"]))
    return person


def _register_keys(con: duckdb.DuckDBPyConnection, person: Person) -> None:
    """Temp table `__person_ids(identifier_type, identifier_value, email_key)` for the joins below."""
    con.execute(
        "create or replace temp table __person_ids "
        "(identifier_type varchar, identifier_value varchar, email_key varchar)"
    )
    rows = [[t, v, match_key(v) if t == "email" else None] for t, v in person.identifiers]
    if rows:
        con.executemany("insert into __person_ids values (?, ?, ?)", rows)


def _links(con: duckdb.DuckDBPyConnection, person: Person) -> list[dict[str, Any]]:
    """The records that put two or more of the person's identifiers together (why the merge)."""
    links: list[dict[str, Any]] = []
    if relation_exists(con, WEB_IDENTITIES):
        combos = _rows(
            con,
            f"""
            select w.identity_key, w.user_id, w.email, w.anonymous_id, w.alias_previous_id
            from {WEB_IDENTITIES} as w
            where (w.user_id in (select identifier_value from __person_ids where identifier_type = 'user_id')
                or w.email in (select identifier_value from __person_ids where identifier_type = 'email')
                or w.anonymous_id in (select identifier_value from __person_ids
                                      where identifier_type = 'anonymous_id')
                or w.alias_previous_id in (select identifier_value from __person_ids))
              and (case when w.user_id is null then 0 else 1 end
                   + case when w.email is null then 0 else 1 end
                   + case when w.anonymous_id is null then 0 else 1 end
                   + case when w.alias_previous_id is null then 0 else 1 end) >= 2
            order by w.identity_key
            """,
        )
        samples = _web_samples(con, combos)
        for c in combos:
            ids = {
                k: c[k] for k in ("user_id", "email", "anonymous_id", "alias_previous_id") if c[k] is not None
            }
            links.append({"source": "segment", "identifiers": ids, **samples.get(c["identity_key"], {})})
    if relation_exists(con, "raw.zendesk_users_latest"):
        for r in _rows(
            con,
            f"""
            select cast(z.id as varchar) as zendesk_user_id, z.email, z._file, z._line
            from raw.zendesk_users_latest as z
            where z.email is not null
              and (cast(z.id as varchar) in (select identifier_value from __person_ids
                                             where identifier_type = 'zendesk_user_id')
                   or {match_key_sql("z.email")} in (select email_key from __person_ids))
            order by z.id
            """,
        ):
            links.append(
                {
                    "source": "zendesk_user",
                    "identifiers": {"zendesk_user_id": r["zendesk_user_id"], "email": r["email"]},
                    "record": f"{r['_file']}:{r['_line']}",
                }
            )
    return links


def _web_samples(con: duckdb.DuckDBPyConnection, combos: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """First message (and message count) of each identifier combination, from staging."""
    stg = "staging.stg_segment__events"
    if not combos or not relation_exists(con, stg):
        return {}
    cols = set(_columns(con, stg))
    if not {"user_id", "email", "anonymous_id", "message_id", "type"} <= cols:
        return {}
    previous = "case when s.type = 'alias' then s.previous_id end" if "previous_id" in cols else "null"
    con.execute(
        "create or replace temp table __combos "
        "(identity_key varchar, user_id varchar, email varchar, anonymous_id varchar, "
        "alias_previous_id varchar)"
    )
    con.executemany(
        "insert into __combos values (?, ?, ?, ?, ?)",
        [
            [c["identity_key"], c["user_id"], c["email"], c["anonymous_id"], c["alias_previous_id"]]
            for c in combos
        ],
    )
    time_col = "event_at" if "event_at" in cols else "ts"
    rows = _rows(
        con,
        f"""
        select c.identity_key, count(*) as messages,
            arg_min(s.message_id, s.{time_col}) as first_message_id,
            arg_min(s.type, s.{time_col}) as first_type,
            min(s.{time_col}) as first_at,
            arg_min(s._file || ':' || s._line, s.{time_col}) as first_record
        from {stg} as s
        inner join __combos as c
            on s.user_id is not distinct from c.user_id
            and s.email is not distinct from c.email
            and s.anonymous_id is not distinct from c.anonymous_id
            and {previous} is not distinct from c.alias_previous_id
        group by c.identity_key
        """,
    )
    return {
        r["identity_key"]: {
            "messages": r["messages"],
            "first_message_id": r["first_message_id"],
            "first_type": r["first_type"],
            "first_at": r["first_at"],
            "record": r["first_record"],
        }
        for r in rows
    }


def _consent(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Consent by group over every address, and each address's suppression reasons."""
    out: dict[str, Any] = {"summary": None, "addresses": [], "groups": [], "global": None}
    if relation_exists(con, SUPPRESSIONS):
        out["addresses"] = _rows(
            con,
            f"""
            select s.email_key, s.suppression_reason, s.is_suppressed_from_all, s.unsubscribed_group_ids,
                s.suppressed_since, s.has_quarantined_withdrawal
            from {SUPPRESSIONS} as s
            where s.email_key in (select email_key from __person_ids where email_key is not null)
            order by s.email_key
            """,
        )
    if relation_exists(con, CONSENT_BY_GROUP):
        rows = _rows(
            con,
            f"""
            select g.email_key, g.consent_scope, g.asm_group_id, g.is_unsubscribed,
                g.last_unsubscribed_at, g.last_resubscribed_at, g.has_unusable_resubscribe
            from {CONSENT_BY_GROUP} as g
            where g.email_key in (select email_key from __person_ids where email_key is not null)
            order by g.consent_scope, g.asm_group_id nulls first, g.email_key
            """,
        )
        out["groups"] = [r for r in rows if r["consent_scope"] == "group"]
        globals_ = [r for r in rows if r["consent_scope"] == "global"]
        out["global"] = globals_ or None
    return out


def _segments(con: duckdb.DuckDBPyConnection, settings: Settings, person: Person) -> list[dict[str, Any]]:
    """Every configured segment: in it, or why not (first reason that holds, in audience order)."""
    from flows.activation.audiences import (
        PERSON_RELATION,
        audience_groups,
        compute_audience,
        dbt_var,
    )
    from flows.activation.config import load_config
    from flows.activation.suppression import support_exclusion_sql, suppressed_emails_sql

    config = load_config(settings.segments_file)
    person_row = _rows(con, f"select * from {PERSON_RELATION} where person_id = ?", [person.person_id])
    has_email = bool(person_row and person_row[0].get("email"))
    out: list[dict[str, Any]] = []
    holdouts = _holdout_relations(con)
    for seg in config.segments:
        entry: dict[str, Any] = {"segment": seg.name, "enabled": seg.enabled, "in_segment": False}
        try:
            audience = compute_audience(con, seg, config)
        except LifecycleError as exc:
            entry["reason"] = f"cannot be computed: {exc}"
            out.append(entry)
            continue
        if person.person_id in set(audience["person_id"].cast(str).to_list()):
            # sync leaves held-out persons out after computing the audience, before any destination
            held = _held_out(con, holdouts, seg.name, person.person_id)
            if held is not None:
                entry["reason"] = "holdout"
                entry["detail"] = held
            else:
                entry["in_segment"] = True
            out.append(entry)
            continue
        if seg.model:
            candidate_sql = f"select 1 from {seg.relation} where person_id = ? limit 1"
        else:
            candidate_sql = f"select 1 from {PERSON_RELATION} as p where p.person_id = ? and ({seg.filter})"
        if not con.execute(candidate_sql, [person.person_id]).fetchall():
            entry["reason"] = "not matching"
            entry["detail"] = seg.description or (seg.filter or f"not in {seg.relation}")
            out.append(entry)
            continue
        groups = audience_groups(seg, config)
        suppressed = con.execute(
            f"""
            with suppressed as ({suppressed_emails_sql(con, PERSON_RELATION, groups)})
            select distinct email_key from suppressed
            where email_key in (select email_key from __person_ids where email_key is not null)
               or email_key = (select {match_key_sql("email")} from {PERSON_RELATION} where person_id = ?)
            order by 1
            """,
            [person.person_id],
        ).fetchall()
        if suppressed:
            entry["reason"] = "suppressed"
            entry["detail"] = _suppression_detail(con, [r[0] for r in suppressed], groups)
            out.append(entry)
            continue
        if not has_email:
            entry["reason"] = "no email address"
            out.append(entry)
            continue
        if seg.exclude_support_issues:
            days = int(dbt_var("bad_csat_suppression_days"))
            as_of_sql = f"(select max(as_of) from {PERSON_RELATION})"
            excluded = _rows(
                con,
                f"select coalesce(p.open_high_urgent_tickets, 0) as open_high_urgent, p.last_bad_csat_at "
                f"from {PERSON_RELATION} as p where p.person_id = ? "
                f"and {support_exclusion_sql('p', as_of_sql, days)}",
                [person.person_id],
            )
            if excluded:
                row = excluded[0]
                why = []
                if row["open_high_urgent"]:
                    why.append(f"{row['open_high_urgent']} open high/urgent ticket(s)")
                if row["last_bad_csat_at"] is not None:
                    why.append(f"bad CSAT at {_text(row['last_bad_csat_at'])} (last {days} days)")
                entry["reason"] = "excluded"
                entry["detail"] = "support issue: " + ", ".join(why or ["open ticket or bad CSAT"])
                out.append(entry)
                continue
        held = _held_out(con, holdouts, seg.name, person.person_id)
        if held is not None:
            entry["reason"] = "holdout"
            entry["detail"] = held
            out.append(entry)
            continue
        entry["reason"] = "duplicate address"
        entry["detail"] = "another person with the same address is in the audience (one message per address)"
        out.append(entry)
    return out


def _suppression_detail(
    con: duckdb.DuckDBPyConnection, keys: list[str], groups: frozenset[int] | None
) -> str:
    if not relation_exists(con, SUPPRESSIONS):
        return "erasure request"
    rows = _rows(
        con,
        f"select email_key, suppression_reason, is_suppressed_from_all, unsubscribed_group_ids "
        f"from {SUPPRESSIONS} where email_key in (select unnest(?::varchar[])) order by email_key",
        [keys],
    )
    parts = []
    for r in rows:
        reasons = [x for x in (r["suppression_reason"] or "").split(",") if x and x != "group_unsubscribed"]
        if r["unsubscribed_group_ids"]:
            scope = "the segment declares no group, so any group counts" if groups is None else "its group"
            reasons.append(f"unsubscribed from group {r['unsubscribed_group_ids']} ({scope})")
        parts.append(f"{r['email_key']}: {', '.join(reasons) or 'erasure request'}")
    return "; ".join(parts) or "erasure request"


def _holdout_relations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Holdout state tables (SPEC 11), if the holdout feature has written any: sync.*holdout*."""
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_schema = 'sync' and table_name like '%holdout%' order by 1"
    ).fetchall()
    return [r[0] for r in rows if {"person_id", "segment"} <= set(_columns(con, r[0]))]


def _held_out(
    con: duckdb.DuckDBPyConnection, relations: list[str], segment: str, person_id: str
) -> str | None:
    for rel in relations:
        cols = set(_columns(con, rel))
        if "assigned_group" in cols:  # sync.holdout_assignments (flows/activation/holdouts.py)
            cond = " and assigned_group = 'holdout'"
        else:
            cond = " and is_holdout" if "is_holdout" in cols else ""
        if con.execute(
            f"select 1 from {rel} where segment = ? and person_id = ?{cond} limit 1", [segment, person_id]
        ).fetchall():
            return f"held out of the segment's sends to measure its lift ({rel})"
    return None


def explain_person(con: duckdb.DuckDBPyConnection, settings: Settings, ref: str) -> dict[str, Any]:
    """Everything `person show` says, as plain data (the --json output)."""
    person = find_person(con, ref)
    _register_keys(con, person)
    dim = _rows(con, f"select * from {PERSONS} where person_id = ?", [person.person_id])
    row = dim[0] if dim else {}
    history = (
        _rows(
            con,
            f"select transition_number, transitioned_at, from_stage, to_stage, trigger, trigger_order_id "
            f"from {TRANSITIONS} where person_id = ? order by transition_number",
            [person.person_id],
        )
        if relation_exists(con, TRANSITIONS)
        else []
    )
    score_parts: dict[str, Any] = {}
    if relation_exists(con, LEAD_SCORES):
        parts = _rows(con, f"select * from {LEAD_SCORES} where person_id = ?", [person.person_id])
        if parts:
            score_parts = {k: v for k, v in parts[0].items() if k.endswith("_points")}
    consent = _consent(con)
    if relation_exists(con, CONSENT_BY_PERSON):
        summary = _rows(con, f"select * from {CONSENT_BY_PERSON} where person_id = ?", [person.person_id])
        consent["summary"] = summary[0] if summary else None
    return {
        "person_id": person.person_id,
        "identifiers": [{"type": t, "value": v} for t, v in person.identifiers],
        "linked_by": _links(con, person),
        "stage": {
            "current": row.get("lifecycle_stage"),
            "since": row.get("stage_entered_at"),
            "as_of": row.get("as_of"),
            "history": history,
        },
        "lead": {
            "is_lead": row.get("is_lead"),
            "status": row.get("lead_status"),
            "score": row.get("lead_score"),
            "score_parts": score_parts,
        },
        "email_consent_state": row.get("email_consent_state"),
        "consent": consent,
        "segments": _segments(con, settings, person),
    }


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "-" if value is None else str(value)


def render_text(info: dict[str, Any]) -> str:
    """The human-readable `person show` output."""
    lines = [f"Person {info['person_id']}", "", "Identifiers:"]
    for ident in info["identifiers"]:
        lines.append(f"  {ident['type']:<16} {ident['value']}")
    lines += ["", "Linked by:"]
    if not info["linked_by"]:
        lines.append("  (a single identifier: nothing was merged)")
    for link in info["linked_by"]:
        ids = ", ".join(f"{k} {v}" for k, v in link["identifiers"].items())
        if link["source"] == "segment":
            first = (
                f"first {link.get('first_type')} message {link.get('first_message_id')} at "
                f"{_text(link.get('first_at'))} ({link.get('record')}), {link.get('messages')} message(s)"
                if link.get("first_message_id")
                else "Segment messages"
            )
            lines.append(f"  web: {ids}: {first}")
        else:
            lines.append(f"  Zendesk user: {ids} ({link.get('record')})")
    stage = info["stage"]
    lines += ["", f"Stage: {stage['current']} since {_text(stage['since'])} (as of {_text(stage['as_of'])})"]
    for t in stage["history"]:
        trig = t["trigger"] + (f" order {t['trigger_order_id']}" if t.get("trigger_order_id") else "")
        lines.append(
            f"  {t['transition_number']:>3}. {_text(t['transitioned_at'])}  "
            f"{t['from_stage'] or '(new)'} -> {t['to_stage']}  ({trig})"
        )
    lead = info["lead"]
    parts = " + ".join(
        f"{k.removesuffix('_points').replace('_', ' ')} {v}" for k, v in lead["score_parts"].items()
    )
    lines += [
        "",
        f"Lead: status {lead['status'] or '- (not in acquisition)'}, score {_text(lead['score'])}"
        + (f" = {parts}" if parts else ""),
    ]
    lines += ["", "Segments:"]
    for s in info["segments"]:
        off = "" if s["enabled"] else " (disabled)"
        if s["in_segment"]:
            lines.append(f"  in      {s['segment']}{off}")
        else:
            detail = f": {s['detail']}" if s.get("detail") else ""
            lines.append(f"  not in  {s['segment']}{off}: {s.get('reason')}{detail}")
    consent = info["consent"]
    summary = consent.get("summary") or {}
    lines += ["", f"Consent: {info.get('email_consent_state') or 'unknown'}"]
    if summary.get("is_suppressed_from_all"):
        lines.append(
            f"  suppressed from every audience: {summary.get('suppression_reason')} "
            f"since {_text(summary.get('suppressed_since'))}"
        )
    for g in consent.get("global") or []:
        state = "unsubscribed" if g["is_unsubscribed"] else "resubscribed"
        extra = (
            " (a resubscribe with an unusable time lifted nothing)" if g["has_unusable_resubscribe"] else ""
        )
        lines.append(
            f"  all email ({g['email_key']}): {state}; last unsubscribe {_text(g['last_unsubscribed_at'])}, "
            f"last resubscribe {_text(g['last_resubscribed_at'])}{extra}"
        )
    for g in consent.get("groups") or []:
        state = "unsubscribed" if g["is_unsubscribed"] else "subscribed (resubscribed)"
        lines.append(
            f"  group {g['asm_group_id']} ({g['email_key']}): {state}; last unsubscribe "
            f"{_text(g['last_unsubscribed_at'])}, last resubscribe {_text(g['last_resubscribed_at'])}"
        )
    for a in consent.get("addresses") or []:
        q = " (read from the quarantine)" if a.get("has_quarantined_withdrawal") else ""
        lines.append(f"  {a['email_key']}: {a['suppression_reason']} since {_text(a['suppressed_since'])}{q}")
    if not (consent.get("global") or consent.get("groups") or consent.get("addresses")):
        lines.append("  no opt-out on record: every group may send")
    return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return value


def to_json(info: dict[str, Any]) -> str:
    return json.dumps(_jsonable(info), indent=2, ensure_ascii=False, default=str)


# Raw tables: how each finds the person's records (SQL condition over alias `t`).
_RAW_MATCHES: dict[str, str] = {
    "raw.segment_events": (
        "t.user_id in (select identifier_value from __person_ids where identifier_type = 'user_id') "
        "or t.anonymous_id in "
        "(select identifier_value from __person_ids where identifier_type = 'anonymous_id') "
        "or t.previous_id in (select identifier_value from __person_ids) "
        "or t.message_id in (select message_id from __person_messages)"
    ),
    "raw.sendgrid_events": "{email_key} in (select email_key from __person_ids)",
    "raw.zendesk_users": (
        "cast(t.id as varchar) in "
        "(select identifier_value from __person_ids where identifier_type = 'zendesk_user_id') "
        "or {email_key} in (select email_key from __person_ids)"
    ),
    "raw.zendesk_tickets": (
        "cast(t.requester_id as varchar) in "
        "(select identifier_value from __person_ids where identifier_type = 'zendesk_user_id')"
    ),
    "raw.zendesk_ticket_metrics": (
        "t.ticket_id in (select id from raw.zendesk_tickets where cast(requester_id as varchar) in "
        "(select identifier_value from __person_ids where identifier_type = 'zendesk_user_id'))"
    ),
    "raw.erasure_requests": "{email_key} in (select email_key from __person_ids)",
    "raw.rejects": (
        "exists (select 1 from __person_ids as i where length(i.identifier_value) >= 4 "
        "and contains(lower(t.raw_text), lower(i.identifier_value)))"
    ),
}
_JSON_COLUMNS = {"message", "record", "summary"}


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for col in _JSON_COLUMNS & row.keys():
        if isinstance(row[col], str):
            with contextlib.suppress(ValueError):
                row[col] = json.loads(row[col])
    return row


def export_person(con: duckdb.DuckDBPyConnection, settings: Settings, email: str) -> dict[str, Any]:
    """Everything held about the person of `email` (or person_id): a data-subject-access export."""
    person = find_person(con, email)
    _register_keys(con, person)
    con.execute("create or replace temp table __person_messages (message_id varchar)")
    if relation_exists(con, "intermediate.int_web_events_resolved"):
        con.execute(
            "insert into __person_messages select distinct message_id "
            "from intermediate.int_web_events_resolved where person_id = ?",
            [person.person_id],
        )
    tables = _rows(
        con,
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = current_database() and table_schema in "
        f"({', '.join(repr(s) for s in EXPORT_SCHEMAS)}) order by table_schema, table_name",
    )
    relations: dict[str, list[dict[str, Any]]] = {}
    for t in tables:
        rel = f"{t['table_schema']}.{t['table_name']}"
        fq = f"{quote_ident(t['table_schema'])}.{quote_ident(t['table_name'])}"
        cols = _columns(con, rel)
        if rel in _RAW_MATCHES:
            email_col = "email" if "email" in cols else None
            key = match_key_sql(f"cast(t.{email_col} as varchar)") if email_col else "null"
            where = _RAW_MATCHES[rel].format(email_key=key)
        elif "person_id" in cols:
            where = "t.person_id = $pid"
        elif rel.startswith("sync.") and "record_key" in cols:
            where = "t.record_key = $pid"
        elif "email_key" in cols:
            where = "t.email_key in (select email_key from __person_ids)"
        elif "email" in cols and not rel.startswith("raw."):
            where = f"{match_key_sql('cast(t.email as varchar)')} in (select email_key from __person_ids)"
        else:
            continue
        params: dict[str, Any] = {"pid": person.person_id} if "$pid" in where else {}
        try:
            found = _rows(con, f"select * from {fq} as t where {where}", params)  # type: ignore[arg-type]
        except duckdb.Error:
            continue  # a view over a missing table, or columns of an unexpected type: nothing to export
        if found:
            relations[rel] = [_decode(r) for r in found]
    return {
        "export": "data subject access request (lifecycle person export)",
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "person_id": person.person_id,
        "identifiers": [{"type": t, "value": v} for t, v in person.identifiers],
        "relations": relations,
        "row_counts": {k: len(v) for k, v in relations.items()},
        "not_included": (
            "the landing files under DIR/raw/ (your own input files), and outbound audience files, "
            "whose rows are the sync state included here (sync.record_state)"
        ),
    }


def default_export_path(settings: Settings, person_id: str) -> Path:
    """DIR/exports/<pseudonymous id>.json: person_id when it is the hashed `p_` form, else a hash of it."""
    import hashlib

    name = (
        person_id
        if _PERSON_ID_RE.match(person_id)
        else "p_" + hashlib.sha256(person_id.encode()).hexdigest()[:16]
    )
    return settings.root / "exports" / f"{name}.json"


def write_export(data: dict[str, Any], path: Path) -> Path:
    """Write the export atomically (temp file in the same directory, then rename), mode 0600."""
    path = path.expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(to_json(data))
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def show(settings: Settings, ref: str, as_json: bool = False) -> str:
    """`lifecycle person show`: the text (or JSON) to print."""
    con = open_read_only(settings)
    try:
        info = explain_person(con, settings, ref)
    finally:
        con.close()
    return to_json(info) if as_json else render_text(info)


def export(settings: Settings, email: str, out: Path | None = None) -> tuple[Path, dict[str, int]]:
    """`lifecycle person export`: writes the file; returns its path and the rows per relation."""
    con = open_read_only(settings)
    try:
        data = export_person(con, settings, email)
    finally:
        con.close()
    path = write_export(data, out or default_export_path(settings, data["person_id"]))
    return path, data["row_counts"]


def erase(settings: Settings, email: str) -> tuple[str, bool]:
    """`lifecycle person erase`: record an erasure request and apply it at once (privacy's erase).

    Returns the summary line and whether a person had that address. The request is applied even
    when no person has it yet: the ledger then redacts any later record for the address at ingest.
    """
    from flows.privacy import erase as erasure
    from flows.transform.run_guard import warehouse_guard

    known = True
    if settings.warehouse_path.exists():
        try:
            con = open_read_only(settings)
        except LifecycleError:
            con = None
        if con is not None:
            try:
                find_person(con, email)
            except PersonNotFound:
                known = False
            finally:
                con.close()
    with warehouse_guard(settings):  # erasure writes the warehouse: one writer at a time
        erase_now = getattr(erasure, "erase_now", None)
        if callable(erase_now):
            result = erase_now(settings, email)
        else:  # the privacy module before erase_now existed
            result = erasure.erase(settings, emails=[email], source="cli")
    return result.summary_line(), known


def run_cli(settings: Settings, action: str, ref: str, as_json: bool = False, out: Path | None = None) -> int:
    """The `lifecycle person` subcommand; errors are raised as LifecycleError (one line, exit 1)."""
    if action == "show":
        print(show(settings, ref, as_json=as_json))
        return 0
    if action == "export":
        path, counts = export(settings, ref, out)
        print(f"wrote {path} (mode 0600): {sum(counts.values())} rows from {len(counts)} relations")
        return 0
    if action == "erase":
        line, known = erase(settings, ref)
        print(line)
        if not known:
            print(
                "lifecycle person erase: no person had that address; the request is recorded, so any "
                "later record for it is redacted at ingest",
                file=sys.stderr,
            )
            return 1
        return 0
    raise LifecycleError(f"unknown person action {action!r}", hint="use show, export or erase")
