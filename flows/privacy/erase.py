"""Apply erasure requests: find every identifier of each erased person, hash them into the ledger,
and redact the person's personal data from every table of the warehouse, the published marts, the
files under DIR (outbound, published Parquet, reports, quality) and the Prefect artifacts.

Everything is set-based SQL over temporary tables of one connection:

1. `_er_requests`: the requests not applied yet (raw.erasure_requests rows still holding an
   address, erasure rows quarantined in raw.rejects for a bad `requested_at`, and `person erase`).
2. `_er_nodes`: the connected identifiers of each request, found the way identity resolution finds
   them (SPEC 5: emails, anonymousId, userId, alias previousId, Zendesk user ids; blocked values and
   shared devices link nothing), over raw and the last built identity map, until nothing new joins.
3. `_er_any`: every identifier value (and its derived keys) with the erasure's pseudonym.
4. Redaction per table, driven by the column map in pii.py; counts go to privacy.erasure_log.
5. The ledger gets the keyed hashes; raw.erasure_requests keeps `erased:<erasure_id>` instead of
   the address (the ledger replaces it).

The plain values are held only in temporary tables and in memory while the step runs (they are
needed to find the person's lines in files); they are never logged or written.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from flows.privacy import keys, ledger, pii, vendor_erasure
from flows.privacy.match import match_key_sql
from flows.settings import DBT_PROJECT_DIR, Settings
from flows.warehouse import quote_ident, relation_exists

PSEUDONYM_PREFIX = "erased-"
REQUEST_MARK = "erased:"
_EMAIL_TOKEN = pii.EMAIL_TOKEN
_MAX_ROUNDS = 25
# File types scrubbed as text; others under DIR are data files handled elsewhere or not data.
_TEXT_SUFFIXES = {".csv", ".json", ".html", ".htm", ".txt", ".log", ".md", ".yml", ".yaml", ".jsonl"}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class ErasureResult:
    """What one application did (no personal data: counts and ids only)."""

    batch_id: str = ""
    erasures: int = 0
    identifiers: int = 0
    tables: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    artifacts: int = 0
    late: int = 0  # erased persons whose newly loaded records were redacted (ledger matches)
    vendor_deleted: int = 0  # deletions the channel vendors confirmed (vendor_erasure.py)
    vendor_pending: int = 0  # deletions still queued for a vendor, retried at every sync
    warnings: list[str] = field(default_factory=list)
    # The plain values found, for the file and Prefect scrubs of the same step. Never printed.
    needles: list[str] = field(default_factory=list, repr=False)
    person_ids: list[str] = field(default_factory=list, repr=False)

    def summary_line(self) -> str:
        if not self.erasures and not self.late:
            return "no erasure requests pending"
        rows = sum(self.tables.values())
        what = f"{self.erasures} erasure(s) applied" if self.erasures else "no new erasure requests"
        if self.late:
            what += f", new records of {self.late} erased person(s) redacted at ingest"
        line = (
            f"{what}: {self.identifiers} identifiers, {rows} rows in "
            f"{len(self.tables)} relations, {sum(self.files.values())} lines in {len(self.files)} files, "
            f"{self.artifacts} Prefect artifacts"
        )
        if self.vendor_deleted:
            line += f", {self.vendor_deleted} deleted at vendors"
        if self.vendor_pending:
            line += f"; {self.vendor_pending} vendor deletion(s) pending (privacy.vendor_erasures)"
        if self.warnings:
            line += f"; warning: {self.warnings[0]}"
        return line

    def __str__(self) -> str:
        return self.summary_line()


# ---------------------------------------------------------------------------------------------
# catalog helpers


def _tables(con: Any, catalog: str | None = None) -> list[tuple[str, str, str]]:
    """(catalog, schema, table) of every base table of `catalog` (default: the current database)."""
    rows = con.execute(
        """
        select table_catalog, table_schema, table_name from information_schema.tables
        where table_type = 'BASE TABLE' and table_catalog = coalesce(?, current_database())
        order by 1, 2, 3
        """,
        [catalog],
    ).fetchall()
    return [(c, s, t) for c, s, t in rows if s not in pii.SKIP_SCHEMAS and not t.startswith("__")]


def _columns(con: Any, cat: str, schema: str, table: str) -> list[tuple[str, str, bool]]:
    rows = con.execute(
        """
        select column_name, data_type, is_nullable = 'YES' from information_schema.columns
        where table_catalog = ? and table_schema = ? and table_name = ? order by ordinal_position
        """,
        [cat, schema, table],
    ).fetchall()
    return [(c, t, bool(n)) for c, t, n in rows]


def _dbt_vars() -> tuple[list[str], int]:
    import yaml

    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    v = project.get("vars") or {}
    blocked = [str(x).strip().lower() for x in v.get("blocked_identity_values", [])]
    return blocked or ["", "null", "undefined", "0", "anonymous"], int(v.get("max_users_per_anonymous_id", 5))


def _clean(expr: str, blocked: list[str]) -> str:
    """An identifier, or NULL when blank or blocked (SPEC 5 guard rails)."""
    values = ", ".join("'" + b.replace("'", "''") + "'" for b in [*blocked, ""])
    text = f"trim(cast({expr} as varchar))"
    return f"case when lower({text}) not in ({values}) then {text} end"


# ---------------------------------------------------------------------------------------------
# 1. pending requests


def _load_requests(con: Any, extra: list[tuple[str, str]]) -> int:
    """Fill _er_requests(erasure_id, email, mkey, requested_at, source); returns how many."""
    con.execute(
        "create or replace temp table _er_requests "
        "(erasure_id varchar, email varchar, mkey varchar, requested_at timestamp, source varchar)"
    )
    mk = match_key_sql("email")
    if relation_exists(con, "raw.erasure_requests"):
        con.execute(
            f"""
            insert into _er_requests
            select null, email, {mk}, min(requested_at), 'file'
            from raw.erasure_requests
            where email is not null and not starts_with(email, '{REQUEST_MARK}')
            group by all
            """
        )
    if relation_exists(con, "raw.rejects"):
        # SPEC 10: an erasure row with a bad requested_at still erases (its load time stands in).
        con.execute(
            f"""
            insert into _er_requests
            select null, email, {mk}, min(_loaded_at), 'file'
            from (
                select unnest(regexp_extract_all(raw_text, '{_EMAIL_TOKEN}')) as email, _loaded_at
                from raw.rejects where source = 'erasure' and raw_text is not null
            )
            group by all
            """
        )
    if extra:
        con.executemany(
            "insert into _er_requests select null, ?, null, current_timestamp, ?", [list(x) for x in extra]
        )
    # One request per match key; the erasure id is random (never derived from the address).
    con.execute(
        f"""
        create or replace temp table _er_requests as
        select
            substr(replace(cast(uuid() as varchar), '-', ''), 1, 12) as erasure_id,
            mkey,
            min(requested_at) as requested_at,
            min(source) as source
        from (select {match_key_sql("email")} as mkey, requested_at, source from _er_requests)
        where mkey is not null and mkey like '%@%'
        group by mkey
        """
    )
    # An address erased before keeps its erasure id (and so its pseudonym).
    con.execute(
        f"""
        update _er_requests as r set erasure_id = l.erasure_id
        from {ledger.LEDGER} as l
        where l.kind = 'email' and l.key_hash = lifecycle_hmac(r.mkey)
        """
    )
    return int(con.execute("select count(*) from _er_requests").fetchall()[0][0])


def _json_email(column: str, paths: tuple[str, ...] = pii.JSON_EMAIL_PATHS) -> str:
    """SQL: the first email member of a JSON column, parsed only where its text can hold an address.
    An address has an '@', in the text as is or as the JSON escape \\u0040: a year of Segment events
    holds one in a few messages per thousand, and parsing every message was most of the cost (10.3 s
    to 2.2 s over 7.9 million messages, the same combinations once match keys are taken)."""
    text = f"cast({column} as varchar)"
    found = ", ".join(f"json_extract_string({column}, '{p}')" for p in paths)
    return f"case when contains({text}, '@') or contains({text}, '\\u0040') then coalesce({found}) end"


# Where identifiers sit in raw rows, for the ledger check of newly loaded rows (kind, SQL).
# Segment spec: anonymousId/userId/previousId and traits.email; SendGrid event webhook: email;
# Zendesk users: id and email; Zendesk tickets: requester_id. Quarantined lines (raw.rejects) are
# searched as text: any address-shaped token, and the Segment ids when the line is valid JSON.
_SEED_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "raw.segment_events": [
        ("web", "anonymous_id"),
        ("web", "user_id"),
        ("web", "previous_id"),
        ("email", _json_email("message")),
    ],
    "raw.sendgrid_events": [("email", "email")],
    "raw.zendesk_users": [("zd", "cast(id as varchar)"), ("email", "email")],
    "raw.zendesk_tickets": [("zd", "cast(requester_id as varchar)")],
    "raw.rejects": [
        ("email", f"unnest(regexp_extract_all(raw_text, '{_EMAIL_TOKEN}'))"),
        *[
            ("web", f"case when json_valid(raw_text) then json_extract_string(raw_text, '{p}') end")
            for p in pii.JSON_ID_PATHS
        ],
    ],
}
_LEDGER_KIND = {"email": "email", "web": "web_id", "zd": "zendesk_id"}


def _load_seeds(con: Any) -> int:
    """Fill _er_seeds(erasure_id, kind, value): identifiers of rows loaded since the last check
    whose keyed hash is in the ledger (a late event, a re-ingested old file, an API page of an
    erased person). Set-based: the candidates of the new rows are hashed once each and joined to
    the ledger; the cost is that of the new rows, thanks to the per-table `_loaded_at` watermark."""
    con.execute("create or replace temp table _er_seeds (erasure_id varchar, kind varchar, value varchar)")
    con.execute("create or replace temp table _er_marks (relation varchar, loaded_at timestamp)")
    empty = ledger.ledger_size(con) == 0
    for relation, columns in _SEED_COLUMNS.items():
        if not relation_exists(con, relation):
            continue
        since = con.execute(
            f"select max(loaded_at) from {ledger.WATERMARK} where relation = ?", [relation]
        ).fetchall()[0][0]
        con.execute(
            f"insert into _er_marks select ?, max(_loaded_at) from {relation} "
            "having max(_loaded_at) is not null",
            [relation],
        )
        if empty:
            continue
        where = "where _loaded_at > ?" if since is not None else ""
        params = [since] if since is not None else []
        selects = " union ".join(
            f"select '{kind}' as kind, "
            + (match_key_sql("v") if kind == "email" else "nullif(trim(cast(v as varchar)), '')")
            + f" as value from (select {sql} as v from {relation} {where})"
            for kind, sql in columns
        )
        con.execute(
            f"""
            insert into _er_seeds
            with candidates as (select distinct kind, value from ({selects}) where value is not null),
            hashed as (select kind, value, lifecycle_hmac(value) as key_hash from candidates)
            select distinct l.erasure_id, h.kind, h.value
            from hashed as h
            join {ledger.LEDGER} as l
                on l.key_hash = h.key_hash
                and l.kind = case h.kind when 'web' then 'web_id' when 'zd' then 'zendesk_id' else 'email' end
            """,
            params * len(columns),
        )
    return int(con.execute("select count(distinct erasure_id) from _er_seeds").fetchall()[0][0])


def _advance_watermarks(con: Any) -> None:
    con.execute(
        f"delete from {ledger.WATERMARK} where relation in (select relation from _er_marks); "
        f"insert into {ledger.WATERMARK} select relation, loaded_at from _er_marks"
    )


# ---------------------------------------------------------------------------------------------
# 2. the connected identifiers of each request


def _build_sources(con: Any) -> None:
    """Distinct identifier combinations from raw (and the last identity map), guard rails applied."""
    blocked, max_users = _dbt_vars()
    if relation_exists(con, "raw.segment_events"):
        con.execute(
            f"""
            create or replace temp table _er_web as
            select distinct anonymous_id, user_id, previous_id, {match_key_sql("email")} as mkey
            from (
                -- distinct combinations first: the match key is costly per row, and a person's
                -- combination repeats over every event
                select distinct
                    {_clean("anonymous_id", blocked)} as anonymous_id,
                    {_clean("user_id", blocked)} as user_id,
                    {_clean("previous_id", blocked)} as previous_id,
                    {_json_email("message", pii.JSON_EMAIL_PATHS[:3])} as email
                from raw.segment_events
            )
            """
        )
    else:
        con.execute(
            "create or replace temp table _er_web "
            "(anonymous_id varchar, user_id varchar, previous_id varchar, mkey varchar)"
        )
    con.execute(
        f"""
        create or replace temp table _er_shared as
        select anonymous_id from _er_web
        where anonymous_id is not null and user_id is not null
        group by anonymous_id having count(distinct user_id) > {max_users}
        """
    )
    if relation_exists(con, "raw.zendesk_users"):
        con.execute(
            f"create or replace temp table _er_zd as select distinct cast(id as varchar) as zd, "
            f"{match_key_sql('email')} as mkey from raw.zendesk_users"
        )
    else:
        con.execute("create or replace temp table _er_zd (zd varchar, mkey varchar)")
    kinds = "case identifier_type when 'email' then 'email' when 'zendesk_user_id' then 'zd' else 'web' end"
    if relation_exists(con, "intermediate.int_identity_map"):
        con.execute(
            f"""
            create or replace temp table _er_map as
            select person_id, {kinds} as kind,
                case when identifier_type = 'email' then {match_key_sql("identifier_value")}
                     else identifier_value end as value
            from intermediate.int_identity_map
            """
        )
    else:
        con.execute("create or replace temp table _er_map (person_id varchar, kind varchar, value varchar)")


def _closure(con: Any) -> None:
    """Grow _er_nodes(erasure_id, kind, value) until no new identifier joins."""
    con.execute(
        "create or replace temp table _er_nodes as "
        "select erasure_id, 'email' as kind, mkey as value from _er_requests "
        "union select erasure_id, kind, value from _er_seeds"
    )
    step = """
        with n as (select * from _er_nodes),
        web_hit as (
            select distinct n.erasure_id, w.*
            from _er_web as w
            join n on (n.kind = 'email' and n.value = w.mkey)
                or (n.kind = 'web' and n.value = w.user_id)
                or (n.kind = 'web' and n.value = w.previous_id)
                or (n.kind = 'web' and n.value = w.anonymous_id
                    and w.anonymous_id not in (select anonymous_id from _er_shared))
        ),
        zd_hit as (
            select distinct n.erasure_id, z.*
            from _er_zd as z
            join n on (n.kind = 'email' and n.value = z.mkey) or (n.kind = 'zd' and n.value = z.zd)
        ),
        persons as (
            select distinct n.erasure_id, m.person_id
            from _er_map as m join n on n.kind = m.kind and n.value = m.value
        ),
        found as (
            select erasure_id, 'web' as kind, user_id as value from web_hit
            union select erasure_id, 'web', previous_id from web_hit
            union select erasure_id, 'web', anonymous_id from web_hit
                where anonymous_id not in (select anonymous_id from _er_shared)
            union select erasure_id, 'email', mkey from web_hit
            union select erasure_id, 'zd', zd from zd_hit
            union select erasure_id, 'email', mkey from zd_hit
            union select p.erasure_id, m.kind, m.value from persons as p join _er_map as m using (person_id)
            union select erasure_id, 'person', person_id from persons
        )
        insert into _er_nodes
        select distinct erasure_id, kind, value from found
        where value is not null
        except select erasure_id, kind, value from _er_nodes
    """
    for _ in range(_MAX_ROUNDS):
        added = con.execute(step).fetchall()[0][0]
        if not added:
            break
    # Requests reaching the same identifiers are one person: one pseudonym (the smallest erasure id).
    con.execute(
        "create or replace temp table _er_canon as "
        "select erasure_id, erasure_id as canon from (select distinct erasure_id from _er_nodes)"
    )
    for _ in range(5):
        con.execute(
            """
            create or replace temp table _er_canon as
            with per_value as (
                select n.kind, n.value, min(c.canon) as canon
                from _er_nodes as n join _er_canon as c using (erasure_id) group by all
            )
            select n.erasure_id, min(p.canon) as canon
            from _er_nodes as n join per_value as p using (kind, value) group by n.erasure_id
            """
        )


def _build_any(con: Any) -> None:
    """_er_ids(kind, value, pseud) and _er_any(value, pseud): every value, derived keys included."""
    con.execute(
        f"""
        create or replace temp table _er_ids as
        select n.kind, n.value, min('{PSEUDONYM_PREFIX}' || c.canon) as pseud
        from _er_nodes as n join _er_canon as c using (erasure_id)
        group by all
        """
    )
    if relation_exists(con, "intermediate.int_web_identities_deduplicated"):
        # Web identity keys (md5 of an identifier combination) of the person's combinations.
        con.execute(
            f"""
            insert into _er_ids
            select distinct 'key', d.identity_key, i.pseud
            from intermediate.int_web_identities_deduplicated as d
            join _er_ids as i
                on (i.kind = 'web' and i.value in (d.user_id, d.anonymous_id, d.alias_previous_id))
                or (i.kind = 'email' and i.value = {match_key_sql("d.email")})
            """
        )
    con.execute(
        """
        create or replace temp table _er_any as
        select value, min(pseud) as pseud from (
            select value, pseud from _er_ids where kind <> 'email'
            union all select '1:' || value, pseud from _er_ids where kind = 'web'
            union all select '3:' || value, pseud from _er_ids where kind = 'web'
            union all select '2:' || value, pseud from _er_ids where kind = 'email'
            union all select '4:' || value, pseud from _er_ids where kind = 'zd'
            union all select value, pseud from _er_ids where kind = 'email'
        ) group by value
        """
    )


# ---------------------------------------------------------------------------------------------
# 3. redaction of one table


def _email_match(fq: str, expr: str) -> str:
    """SELECT of (rid, pseud) for the rows of `fq` whose address `expr` (over alias `t`) has the
    match key of an erased address.

    The match key (trim, lower-case, validity regex, gmail dots) is costly per row, and a table
    holds a few distinct addresses per person over many rows (a year of SendGrid events): so it is
    computed once per distinct value, and the rows are found by a plain equality join on the
    values that matched. The same rows as `match_key(expr) = key` row by row, at a fraction of
    the cost."""
    return f"""
        select rid, pseud from (
            with vals as materialized (
                select * from (select t.rowid as rid, cast({expr} as varchar) as v from {fq} as t)
                where v is not null
            )
            select vals.rid, k.pseud
            from vals
            join (
                select d.v, i.pseud
                from (select distinct v from vals) as d
                join _er_ids as i on i.kind = 'email' and i.value = {match_key_sql("d.v")}
            ) as k on vals.v = k.v
        )
    """


def _match_selects(
    fq: str,
    columns: list[tuple[str, str, bool]],
    text_scan: bool,
    only_text: bool = False,
    text_filter: str | None = None,
) -> list[str]:
    """SELECTs of (rid, pseud) for the rows of `fq` that belong to an erased person (`only_text`:
    just the free-text scans, when the identifier matches are already known; `text_filter`: SQL
    over a lower-cased column `txt` that keeps the rows holding any needle, `_needle_filter`, and
    without it there is no value to search free text for)."""
    out: list[str] = []
    # Raw JSON is searched only where no typed column holds the identifiers (Segment's address
    # sits only in the message JSON): one JSON pass less over the largest tables.
    kinds = {pii.kind_of(c, t) for c, t, _ in columns}
    typed_ids = kinds & {pii.EMAIL, pii.ZENDESK_ID}
    typed_web = pii.WEB_ID in kinds
    for col, dtype, _ in columns:
        kind = pii.kind_of(col, dtype)
        c = f"t.{quote_ident(col)}"
        if only_text and kind != pii.TEXT:
            continue
        if kind == pii.EMAIL:
            out.append(_email_match(fq, c))
        elif kind in (pii.WEB_ID, pii.KEY):
            out.append(
                f"select t.rowid as rid, a.pseud from {fq} as t join _er_any as a "
                f"on a.value = cast({c} as varchar)"
            )
        elif kind == pii.ZENDESK_ID:
            out.append(
                f"select t.rowid as rid, i.pseud from {fq} as t join _er_ids as i "
                f"on i.kind = 'zd' and i.value = cast({c} as varchar)"
            )
        elif kind == pii.PERSON:
            out.append(
                f"select t.rowid as rid, i.pseud from {fq} as t join _er_ids as i "
                f"on i.kind = 'person' and i.value = {c}"
            )
        elif kind == pii.JSON and col.lower() in ("message", "record") and not typed_ids:
            out.append(_email_match(fq, _json_email(c)))
            for p in pii.JSON_ID_PATHS if not typed_web else ():
                out.append(
                    f"select t.rowid as rid, a.pseud from {fq} as t join _er_any as a "
                    f"on a.value = json_extract_string({c}, '{p}')"
                )
        elif kind == pii.TEXT and text_scan and text_filter is not None:
            # A regular-expression pass keeps the rows holding any needle, and only those are joined
            # to the needles: a join on contains() compares every row with every needle.
            out.append(
                f"select t.rid, n.pseud from (select rid, txt from "
                f"(select t.rowid as rid, lower(cast({c} as varchar)) as txt from {fq} as t) "
                f"where {text_filter}) as t "
                f"join _er_needles as n on contains(t.txt, n.needle)"
            )
    return out


def _set_list(columns: list[tuple[str, str, bool]], allow_list: bool = False) -> list[str]:
    sets: list[str] = []
    for col, dtype, nullable in columns:
        kind = pii.kind_of(col, dtype)
        c = quote_ident(col)
        is_text = dtype.upper() in ("VARCHAR", "TEXT") or dtype.upper().startswith("VARCHAR")
        if kind in (pii.EMAIL, pii.NAME, pii.PHONE, pii.IP, pii.USER_AGENT, pii.TEXT):
            if nullable:
                sets.append(f"{c} = null")
            elif is_text:
                sets.append(f"{c} = '[erased]'")
        elif kind in (pii.WEB_ID, pii.KEY) and is_text:
            sets.append(f"{c} = case when {c} is null then null else coalesce(m.pseud, 'erased') end")
        elif kind == pii.ZENDESK_ID and nullable:
            sets.append(f"{c} = null")
        elif kind == pii.JSON and dtype.upper().startswith("JSON") and allow_list:
            # Exported records (sync state, dead letters) carry each vendor's own headers
            # ("Email", "First Name", "EMAIL", ...): keep numbers, booleans and the text keys known
            # not to be personal.
            allowed = ", ".join(f"'{k}'" for k in sorted(pii.NOT_PERSONAL | {"person_id"}))
            sets.append(
                f"{c} = (select coalesce(json_group_object(e.key, e.value), '{{}}') "
                f"from json_each(t.{c}) as e where e.type in ('BIGINT', 'UBIGINT', 'DOUBLE', 'BOOLEAN') "
                f"or lower(replace(e.key, ' ', '_')) in ({allowed}))"
            )
        elif kind == pii.JSON and dtype.upper().startswith("JSON"):
            sets.append(f"{c} = json_merge_patch({c}, '{pii.JSON_PATCH_TEXT}')")
    return sets


def _matched_rows(con: Any, name: str, selects: list[str]) -> None:
    """Temp table `name` (rid, pseud): each matched row once, with the smallest pseudonym."""
    con.execute(
        f"create or replace temp table {name} as select rid, min(pseud) as pseud from ("
        + " union all ".join(selects)
        + ") group by rid"
    )


# RE2's metacharacters; every other character of a needle stands for itself.
_RE2_SPECIAL = set("\\.^$|?*+()[]{}")
# Needles per regular expression: RE2 runs an alternation of 100 literals as a DFA, while one of a
# thousand outgrows its memory budget and falls back to a search 100x slower.
_NEEDLES_PER_PATTERN = 100


def _needle_filter(con: Any, text: str) -> str | None:
    """SQL: whether `text` (lower-cased) holds any needle of `_er_needles`, as RE2 alternations of
    literals; None without needles (then no free text can hold one)."""
    exists = "select count(*) from duckdb_tables() where temporary and table_name = '_er_needles'"
    if not con.execute(exists).fetchall()[0][0]:
        return None
    rows = con.execute("select distinct needle from _er_needles where needle <> '' order by 1").fetchall()
    if not rows:
        return None
    literals = ["".join(f"\\{ch}" if ch in _RE2_SPECIAL else ch for ch in needle) for (needle,) in rows]
    patterns = [
        "|".join(literals[i : i + _NEEDLES_PER_PATTERN]).replace("'", "''")
        for i in range(0, len(literals), _NEEDLES_PER_PATTERN)
    ]
    return "(" + " or ".join(f"regexp_matches({text}, '{p}')" for p in patterns) + ")"


def redact_table(
    con: Any,
    cat: str,
    schema: str,
    table: str,
    *,
    known_rows: str | None = None,
    text_filter: str | None = None,
) -> tuple[str, int]:
    """Redact (or delete) the erased persons' rows of one table; returns (action, rows).

    `known_rows` names a temp table of (rid, pseud) already matched by identifier (the needle
    pass, `_collect_needles`): then only the free-text scans run here, not every match again."""
    columns = _columns(con, cat, schema, table)
    fq = f"{quote_ident(cat)}.{quote_ident(schema)}.{quote_ident(table)}"
    if known_rows is None:
        selects = _match_selects(fq, columns, text_scan=True, text_filter=text_filter)
    else:
        selects = [
            f"select rid, pseud from {known_rows}",
            *_match_selects(fq, columns, True, only_text=True, text_filter=text_filter),
        ]
    if not selects:
        return "", 0
    _matched_rows(con, "_er_rows", selects)
    rows = int(con.execute("select count(*) from _er_rows").fetchall()[0][0])
    if not rows:
        return "", 0
    relation = f"{schema}.{table}"
    if relation in pii.DELETE_ROWS:
        con.execute(f"delete from {fq} where rowid in (select rid from _er_rows)")
        return "deleted", rows
    sets = _set_list(columns, allow_list=schema in pii.ALLOW_LIST_SCHEMAS)
    if not sets:
        return "", 0
    con.execute(f"update {fq} as t set {', '.join(sets)} from _er_rows as m where t.rowid = m.rid")
    unique = pii.UNIQUE_AFTER_REDACTION.get(relation)
    if unique:
        uq = quote_ident(unique)
        con.execute(
            f"delete from {fq} where starts_with({uq}, '{PSEUDONYM_PREFIX}') and rowid not in "
            f"(select min(rowid) from {fq} where starts_with({uq}, '{PSEUDONYM_PREFIX}') "
            f"group by {uq})"
        )
    return "redacted", rows


def redact_catalog(
    con: Any, catalog: str | None = None, known: dict[tuple[str, str], str] | None = None
) -> dict[str, int]:
    """Redact every base table of a catalog (the warehouse, or an attached published copy).
    `known`: (schema, table) -> temp table of rows already matched by identifier."""
    counts: dict[str, int] = {}
    needle_filter = _needle_filter(con, "txt")
    for cat, schema, table in _tables(con, catalog):
        action, rows = redact_table(
            con, cat, schema, table, known_rows=(known or {}).get((schema, table)), text_filter=needle_filter
        )
        if rows:
            counts[f"{schema}.{table}" if catalog is None else f"{catalog}:{schema}.{table}"] = rows
            del action
    return counts


# ---------------------------------------------------------------------------------------------
# needles: plain values to find in files and artifacts


def _collect_needles(con: Any, known: dict[tuple[str, str], str]) -> list[str]:
    """Every plain value of the erased persons that could sit in a file: addresses (as stored and
    as keys), their sha256/md5, names, phones, ids. Held in `_er_needles` and returned.

    The rows matched by identifier here are kept, one temp table per relation in `known`, so the
    redaction that follows scans each table's identifiers once, not twice."""
    con.execute("create or replace temp table _er_needles (needle varchar, pseud varchar)")
    con.execute(
        "insert into _er_needles select distinct lower(value), pseud from _er_ids "
        "where kind in ('email', 'web', 'person') and length(value) >= 6"
    )
    for cat, schema, table in _tables(con):
        columns = _columns(con, cat, schema, table)
        wanted = [c for c, t, _ in columns if pii.kind_of(c, t) in (pii.EMAIL, pii.NAME, pii.PHONE)]
        if not wanted:
            continue
        fq = f"{quote_ident(cat)}.{quote_ident(schema)}.{quote_ident(table)}"
        selects = _match_selects(fq, columns, text_scan=False)
        if not selects:
            continue
        hits = f"_er_hits_{len(known)}"
        _matched_rows(con, hits, selects)
        known[(schema, table)] = hits
        for col in wanted:
            qc = quote_ident(col)
            con.execute(
                f"insert into _er_needles select distinct lower(trim(cast(t.{qc} as varchar))), m.pseud "
                f"from {fq} as t join {hits} as m on t.rowid = m.rid "
                f"where length(trim(cast(t.{qc} as varchar))) >= 5"
            )
    values = [r[0] for r in con.execute("select distinct needle from _er_needles").fetchall()]
    hashes: set[str] = set()
    emails = [v for v in values if "@" in v]
    keys_ = [r[0] for r in con.execute("select value from _er_ids where kind = 'email'").fetchall()]
    for e in {*emails, *keys_}:
        for fn in (hashlib.sha256, hashlib.md5):
            hashes.add(fn(e.encode()).hexdigest())
    phones = {re.sub(r"[^0-9+]", "", v) for v in values if re.fullmatch(r"[0-9+() .-]{7,}", v)}
    # Hashing destinations write sha256 of the E.164 phone (with and without the plus).
    hashes |= {hashlib.sha256(f.encode()).hexdigest() for p in phones for f in (p, p.lstrip("+"))}
    extra = sorted(hashes | {p for p in phones if len(p) >= 7})
    if extra:
        con.executemany("insert into _er_needles values (?, null)", [[x] for x in extra])
    return sorted({*values, *extra})


# ---------------------------------------------------------------------------------------------
# 4. the whole application


def apply_erasures(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    emails: list[str] | None = None,
    source: str = "cli",
) -> ErasureResult:
    """Apply every pending erasure request (plus `emails`) to the warehouse; files come after
    (scrub_outside_warehouse), with the same result's needles."""
    ledger.ensure_schema(con)
    keys.prepare(con, settings, write=True)
    result = ErasureResult(batch_id=f"{_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}")
    n = _load_requests(con, [(e, source) for e in emails or []])
    late = _load_seeds(con)
    if not n and not late:
        _advance_watermarks(con)
        return result
    _build_sources(con)
    _closure(con)
    _build_any(con)
    known: dict[tuple[str, str], str] = {}
    result.needles = _collect_needles(con, known)
    result.person_ids = [
        r[0] for r in con.execute("select value from _er_ids where kind = 'person'").fetchall()
    ]
    applied = _now()
    # Which destinations push to a vendor API, read before the transaction: their state rows of the
    # erased persons become queued vendor deletions (vendor_erasure.py) instead of being redacted.
    try:
        channels = vendor_erasure.pushing_channels(settings)
    except Exception as exc:  # noqa: BLE001 - a broken segments file must not stop an erasure
        from flows.errors import LifecycleError

        channels = {}
        result.warnings.append(
            f"vendor deletions not queued, the segments file is unreadable: {LifecycleError.describe(exc)}"
        )
    con.execute("begin transaction")
    try:
        vendor_erasure.queue(con, channels, result.person_ids, result.batch_id)
        # Mark the requests before the redaction: redact_catalog would turn their address into
        # `[erased]`, and the pending filters (here and stg_privacy__erasure_requests) look for the mark.
        marked_requests = 0
        if relation_exists(con, "raw.erasure_requests"):
            mk = match_key_sql("e.email")
            marked = con.execute(
                f"""
                update raw.erasure_requests as e set email = '{REQUEST_MARK}' || r.erasure_id
                from _er_requests as r
                where r.mkey = {mk} and not starts_with(e.email, '{REQUEST_MARK}')
                """
            ).fetchall()[0][0]
            if marked:
                marked_requests = int(marked)
        # The two tables changed since the needle pass are matched afresh: the marked requests
        # must keep their mark, and the queued vendor deletions left sync.record_state.
        for changed in (("raw", "erasure_requests"), ("sync", "record_state")):
            known.pop(changed, None)
        result.tables = redact_catalog(con, known=known)
        for hits in known.values():
            con.execute(f"drop table if exists {hits}")
        if marked_requests:
            result.tables["raw.erasure_requests"] = (
                result.tables.get("raw.erasure_requests", 0) + marked_requests
            )
        con.execute(
            f"""
            insert into {ledger.LEDGER}
            select distinct lifecycle_hmac(n.value),
                case n.kind when 'web' then 'web_id' when 'zd' then 'zendesk_id' else n.kind end,
                c.canon, ?
            from _er_nodes as n join _er_canon as c using (erasure_id)
            where n.kind in ('email', 'web', 'zd')
              and lifecycle_hmac(n.value) not in (select key_hash from {ledger.LEDGER})
            """,
            [applied],
        )
        con.execute(
            f"""
            insert into {ledger.ERASURES}
            select r.erasure_id, r.requested_at, ?, r.source,
                (select count(*) from _er_nodes as n where n.erasure_id = r.erasure_id), ?
            from _er_requests as r
            """,
            [applied, result.batch_id],
        )
        action = "redact" if n else "redact_late_records"
        if result.tables:
            con.executemany(
                f"insert into {ledger.LOG} values (?, ?, ?, ?, ?)",
                [
                    [result.batch_id, applied, rel, action, rows]
                    for rel, rows in sorted(result.tables.items())
                ],
            )
        _advance_watermarks(con)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    result.erasures = n
    result.late = late
    result.identifiers = int(con.execute("select count(*) from _er_ids").fetchall()[0][0])
    return result


def record_outside(con: Any, result: ErasureResult) -> None:
    """Add the file, published and Prefect counts of the same batch to privacy.erasure_log."""
    rows = [[result.batch_id, _now(), rel, "scrub", n] for rel, n in sorted(result.files.items())]
    if result.artifacts:
        rows.append([result.batch_id, _now(), "prefect:artifacts", "delete", result.artifacts])
    if rows:
        con.executemany(f"insert into {ledger.LOG} values (?, ?, ?, ?, ?)", rows)


# ---------------------------------------------------------------------------------------------
# 5. outside the warehouse


def redact_published(con: Any, settings: Settings, result: ErasureResult) -> None:
    """Redact the published marts file: a copy is redacted and renamed over it (BI readers keep
    their open snapshot; nothing half-written is ever visible)."""
    path = settings.published_path
    if not path.exists():
        return
    tmp = path.with_name(f".{path.name}.erase.tmp")
    shutil.copyfile(path, tmp)
    alias = "__erase_published"
    con.execute(f"attach '{tmp}' as {alias}")
    try:
        counts = redact_catalog(con, alias)
    finally:
        con.execute(f"detach {alias}")
    if counts:
        os.replace(tmp, path)
        for rel, n in counts.items():
            result.files[f"published/{path.name}:{rel.split(':', 1)[1]}"] = n
    else:
        tmp.unlink(missing_ok=True)
    _redact_parquet(con, settings, result)


def _redact_parquet(con: Any, settings: Settings, result: ErasureResult) -> None:
    """Published Parquet files (one per mart): rewritten without the erased persons' data."""
    root = settings.published_dir
    for path in sorted(root.rglob("*.parquet")) if root.exists() else []:
        con.execute(f"create or replace temp table __er_parquet as select * from read_parquet('{path}')")
        _, rows = redact_table(con, "temp", "main", "__er_parquet")
        if rows:
            tmp = path.with_name(f".{path.name}.erase.tmp")
            con.execute(f"copy __er_parquet to '{tmp}' (format parquet)")
            os.replace(tmp, path)
            result.files[str(path.relative_to(settings.root))] = rows
        con.execute("drop table if exists __er_parquet")


def _needle_regex(needles: list[str]) -> re.Pattern[str] | None:
    useful = sorted({n for n in needles if len(n) >= 5}, key=len, reverse=True)
    if not useful:
        return None
    return re.compile("|".join(re.escape(n) for n in useful), re.IGNORECASE)


def _line_keys(needles: list[str], person_ids: list[str]) -> re.Pattern[str] | None:
    """Values that identify a line of an audience file as the person's (not names: shared)."""
    strong = [n for n in needles if " " not in n]
    return _needle_regex([*strong, *person_ids])


def scrub_files(settings: Settings, result: ErasureResult) -> None:
    """Every text file the product wrote under DIR (not DIR/raw, the user's input): CSV lines of the
    person are dropped (an audience file no longer lists them); in other files each value is
    replaced by `[erased]`. Files are rewritten atomically."""
    pattern = _needle_regex(result.needles)
    line_pattern = _line_keys(result.needles, result.person_ids)
    if pattern is None:
        return
    raw_dir = settings.raw_dir.resolve()
    plain = [n.lower().encode() for n in result.needles if len(n) >= 5]
    for path in sorted(settings.root.rglob("*")):
        if not path.is_file() or path.is_symlink() or path.suffix.lower() not in _TEXT_SUFFIXES:
            continue
        resolved = path.resolve()
        if resolved.is_relative_to(raw_dir) or ".prefect" in resolved.parts:
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        lowered = data.lower()
        if not any(n in lowered for n in plain):  # C-speed prefilter; the regex runs on hits only
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if not pattern.search(text):
            continue
        changed = 0
        if path.suffix.lower() == ".csv":
            lines = text.splitlines(keepends=True)
            kept = [lines[0]] if lines else []
            for line in lines[1:]:
                if (line_pattern and line_pattern.search(line)) or pattern.search(line):
                    changed += 1
                    if not (line_pattern and line_pattern.search(line)):
                        kept.append(_scrub_csv_line(line, pattern))
                    continue
                kept.append(line)
            new = "".join(kept)
        else:
            new, changed = pattern.subn("[erased]", text)
        tmp = path.with_name(f".{path.name}.erase.tmp")
        tmp.write_text(new, encoding="utf-8")
        os.replace(tmp, path)
        result.files[str(path.relative_to(settings.root))] = changed


def _scrub_csv_line(line: str, pattern: re.Pattern[str]) -> str:
    """A CSV line that mentions the person only in passing (a shared name): blank those cells."""
    ending = "\n" if line.endswith("\n") else ""
    cells = next(csv.reader([line.rstrip("\r\n")]))
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(["" if pattern.search(c) else c for c in cells])
    return out.getvalue() + ending


def scrub_prefect(result: ErasureResult) -> None:
    """Delete, through the Prefect API, the artifacts that mention an erased person (the product's
    run summaries and tables): works with any Prefect server the user points the product at."""
    pattern = _needle_regex(result.needles)
    if pattern is None:
        return
    try:
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL

        if not PREFECT_API_URL.value():
            return  # no server configured: the product's own database is scrubbed directly below
        with get_client(sync_client=True) as client:
            offset = 0
            while True:
                page = client.read_artifacts(limit=200, offset=offset)
                if not page:
                    break
                kept = 0
                for art in page:
                    blob = f"{art.data} {art.description or ''} {art.metadata_ or ''}"
                    if pattern.search(blob):
                        client.delete_artifact(art.id)
                        result.artifacts += 1
                    else:
                        kept += 1
                offset += kept
    except Exception as exc:  # no Prefect server reachable: the database scrub below still runs
        result.warnings.append(f"Prefect artifacts not checked through the API ({type(exc).__name__})")


def scrub_prefect_database(settings: Settings, result: ErasureResult) -> None:
    """Redact the erased values in the product's own Prefect database (DIR/.prefect/prefect.db).

    Prefect's API has no call to delete or edit log lines, events or run states, so the SQLite
    database under PREFECT_HOME is edited directly: every text column of every table, values
    replaced by `[erased]` through a regex function (one UPDATE per column). `secure_delete`
    zeroes freed pages and a WAL checkpoint folds the old page images away, so the values are not
    left in the file's free space. A user's own Prefect server (PREFECT_API_URL) is out of reach
    here: only its artifacts are deleted (scrub_prefect); README says so.
    """
    import sqlite3

    path = settings.prefect_home / "prefect.db"
    pattern = _needle_regex(result.needles)
    if pattern is None or not path.exists():
        return
    try:
        db = sqlite3.connect(str(path), timeout=30)
    except sqlite3.Error as exc:
        result.warnings.append(f"Prefect database not scrubbed ({type(exc).__name__})")
        return
    try:
        db.create_function("er_match", 1, lambda v: v is not None and bool(pattern.search(str(v))))
        db.create_function("er_sub", 1, lambda v: None if v is None else pattern.sub("[erased]", str(v)))
        db.execute("pragma secure_delete = on")
        plain = sorted({n.lower() for n in result.needles if len(n) >= 5})
        tables = [r[0] for r in db.execute("select name from sqlite_master where type = 'table'")]
        changed = 0
        for table in tables:
            if table.startswith("sqlite_"):
                continue
            cols = db.execute(f"pragma table_info({quote_ident(table)})").fetchall()
            for col in cols:
                ctype = str(col[2]).upper()
                if not any(t in ctype for t in ("TEXT", "CHAR", "JSON", "CLOB")) and ctype:
                    continue
                c = quote_ident(col[1])
                # Native instr() prefilter; the Python regex function runs on candidate rows only.
                # (SQLite limits expression depth: with many values the regex alone decides.)
                pre = plain if len(plain) <= 200 else []
                likes = " or ".join(f"instr(lower({c}), ?) > 0" for _ in pre) or "true"
                cur = db.execute(
                    f"update {quote_ident(table)} set {c} = er_sub({c}) where ({likes}) and er_match({c})",
                    pre,
                )
                changed += cur.rowcount
        db.commit()
        with contextlib.suppress(sqlite3.Error):
            db.execute("pragma wal_checkpoint(truncate)")
        if changed:
            result.files[".prefect/prefect.db"] = changed
    except sqlite3.Error as exc:
        result.warnings.append(f"Prefect database not fully scrubbed ({type(exc).__name__}: {exc})")
    finally:
        db.close()


def scrub_outside_warehouse(
    con: Any, settings: Settings, result: ErasureResult, prefect: bool = True
) -> None:
    """Published marts and Parquet, files under DIR and Prefect artifacts, then the log rows."""
    if not result.erasures and not result.late:
        return
    redact_published(con, settings, result)
    scrub_files(settings, result)
    if prefect:
        scrub_prefect(result)
    scrub_prefect_database(settings, result)
    with contextlib.suppress(duckdb.Error):
        record_outside(con, result)


def erase(
    settings: Settings, emails: list[str] | None = None, source: str = "cli", prefect: bool = True
) -> ErasureResult:
    """Open the warehouse and apply pending requests (and `emails`) everywhere: the pipeline's
    erasure step and `lifecycle person erase`. The caller holds the run lock."""
    from flows.warehouse import open_warehouse

    with open_warehouse(settings) as con:
        result = apply_erasures(settings, con, emails=emails, source=source)
        scrub_outside_warehouse(con, settings, result, prefect=prefect)
        if vendor_erasure.pending(con):
            # At once, not at the next sync: each vendor's privacy deletion (channel_apis.py).
            report = vendor_erasure.send(settings, con)
            result.vendor_deleted = sum(report.deleted.values())
            result.vendor_pending = sum(report.pending.values())
            result.warnings += [line for line in report.lines() if "pending" in line]
        con.execute("checkpoint")
    # The plain values were needed only to find the person in files: never let them travel on
    # (a Prefect task result, a log line, a pickle).
    result.needles = []
    result.person_ids = []
    return result


def erase_now(settings: Settings, email: str) -> ErasureResult:
    """`lifecycle person erase EMAIL`: record an erasure request for the address and apply it at
    once, everywhere (the same code as the pipeline's erasure step). Destinations outside DIR
    (http, vendors) see the person removed at the next sync.

    The request is recorded in privacy.erasures (source `cli`, no address) and the ledger; the
    address itself is never written. Raises LifecycleError for a string that is not an address,
    and WarehouseBusy while a run holds the data dir.
    """
    from flows.email_rule import match_key
    from flows.errors import LifecycleError
    from flows.transform.run_guard import warehouse_guard

    if match_key(email) is None:
        raise LifecycleError(
            "the value given is not a valid email address, so there is nothing to erase by it",
            hint="pass the address as the person gave it, e.g. lifecycle person erase jane@example.com",
        )
    with warehouse_guard(settings):
        return erase(settings, emails=[email], source="cli")


def redact_after_ingest(settings: Settings) -> ErasureResult:
    """The post-load step of every ingest: apply new erasure requests (files just loaded) and
    redact any newly loaded record of an already erased person (ledger match), before dbt sees it.
    """
    return erase(settings, source="file")


def _erasure_task_fn(settings: Settings) -> ErasureResult:
    result = redact_after_ingest(settings)
    if result.erasures or result.late:
        from prefect import get_run_logger

        get_run_logger().info("erasure: %s", result.summary_line())  # counts only, no values
    return result


def erasure_task():  # noqa: ANN201 - a Prefect task, built lazily so importing this module stays cheap
    """The Prefect task of the post-ingest erasure step (pipeline and ingest flow)."""
    from prefect import task
    from prefect.cache_policies import NO_CACHE

    return task(name="erasure", cache_policy=NO_CACHE)(_erasure_task_fn)
