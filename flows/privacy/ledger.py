"""The erasure ledger in the warehouse (schema `privacy`, created here, never by dbt).

It holds no address, name or id in clear: only keyed hashes (see keys.py) of the identifiers of
each erased person, so a later record for that person is recognised (suppressed at audience time,
redacted at ingest) without the product keeping what it was asked to forget.

- `privacy.erasure_ledger`: key_hash, kind (email | web_id | zendesk_id), erasure_id, erased_at.
  kind `email` hashes the canonical match key of the address; `web_id` Segment anonymousId/userId;
  `zendesk_id` the Zendesk user id as text.
- `privacy.erasures`: one row per request applied: erasure_id, requested_at, applied_at, source
  (file | cli), identifiers (how many identifiers the person had), batch_id.
- `privacy.erasure_log`: what each batch did: batch_id, applied_at, relation, action, rows.
- `privacy.redaction_watermark`: per raw table, the newest `_loaded_at` already checked against
  the ledger, so the ingest-time check reads only rows loaded since.
- `privacy.key_fingerprint`: HMAC of a fixed label, to detect a changed key (keys.py).
"""

from __future__ import annotations

from typing import Any

from flows.warehouse import relation_exists

SCHEMA = "privacy"
LEDGER = f"{SCHEMA}.erasure_ledger"
ERASURES = f"{SCHEMA}.erasures"
LOG = f"{SCHEMA}.erasure_log"
WATERMARK = f"{SCHEMA}.redaction_watermark"

DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {LEDGER} (
    key_hash   varchar not null,
    kind       varchar not null,
    erasure_id varchar not null,
    erased_at  timestamp not null
);
create table if not exists {ERASURES} (
    erasure_id   varchar not null,
    requested_at timestamp,
    applied_at   timestamp not null,
    source       varchar not null,
    identifiers  bigint not null,
    batch_id     varchar not null
);
create table if not exists {LOG} (
    batch_id   varchar not null,
    applied_at timestamp not null,
    relation   varchar not null,
    action     varchar not null,
    rows       bigint not null
);
create table if not exists {WATERMARK} (
    relation  varchar not null,
    loaded_at timestamp not null
);
create table if not exists {SCHEMA}.key_fingerprint (
    fingerprint varchar not null,
    created_at  timestamp not null
);
"""


def ensure_schema(con: Any) -> None:
    con.execute(DDL)


def ledger_exists(con: Any) -> bool:
    return relation_exists(con, f"{SCHEMA}.erasure_ledger")


def ledger_size(con: Any) -> int:
    if not ledger_exists(con):
        return 0
    return int(con.execute(f"select count(*) from {LEDGER}").fetchall()[0][0])
