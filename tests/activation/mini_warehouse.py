"""A small hand-made warehouse with the columns activation reads (marts.dim_persons and friends).

It lets activation be tested in milliseconds without a dbt build, with exactly the edge cases wanted
(case/space variants of suppressed addresses, gmail dots, erasure only in raw, a second address in
the identity map). The end-to-end test on a real dbt build is in test_end_to_end.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import polars as pl

from flows.activation.sync import run_sync
from flows.warehouse import open_warehouse

AS_OF = datetime(2026, 6, 30, 12, 0, 0)

DIM_PERSONS_SCHEMA = {
    "person_id": pl.Utf8,
    "email": pl.Utf8,
    "phone": pl.Utf8,
    "name": pl.Utf8,
    "first_name": pl.Utf8,
    "last_name": pl.Utf8,
    "phone_e164": pl.Utf8,
    "lifecycle_stage": pl.Utf8,
    "lead_status": pl.Utf8,
    "lead_score": pl.Int64,
    "order_count": pl.Int64,
    "net_revenue": pl.Float64,
    "last_order_at": pl.Datetime("us"),
    "is_email_suppressed": pl.Boolean,
    "open_high_urgent_tickets": pl.Int64,
    "last_bad_csat_at": pl.Datetime("us"),
    "as_of": pl.Datetime("us"),
}


def person(person_id: str, email: str | None, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "person_id": person_id,
        "email": email,
        "phone": None,
        "name": f"Name {person_id}",
        "first_name": None,
        "last_name": None,
        "phone_e164": None,
        "lifecycle_stage": "at_risk",
        "lead_status": None,
        "lead_score": 0,
        "order_count": 1,
        "net_revenue": 100.0,
        "last_order_at": datetime(2026, 2, 1),
        "is_email_suppressed": False,
        "open_high_urgent_tickets": 0,
        "last_bad_csat_at": None,
        "as_of": AS_OF,
    }
    row.update(kw)
    return row


def write_warehouse(
    settings: Any,
    persons: list[dict[str, Any]],
    suppressions: list[str | tuple[str, str]] = (),
    erasures: list[str] = (),
    identities: list[tuple[str, str]] = (),
    upsell: list[dict[str, Any]] | None = None,
) -> None:
    """(Re)create the activation inputs in the settings' warehouse."""
    frame = pl.DataFrame(persons, schema=DIM_PERSONS_SCHEMA)
    # A suppression is an address (reason "unsubscribed") or an (address, reason) pair.
    pairs = [(s, "unsubscribed") if isinstance(s, str) else tuple(s) for s in suppressions]
    sup = pl.DataFrame(
        {"email": [p[0] for p in pairs], "reason": [p[1] for p in pairs]},
        schema={"email": pl.Utf8, "reason": pl.Utf8},
    )
    ids = pl.DataFrame(
        {"person_id": [i[0] for i in identities], "identifier_value": [i[1] for i in identities]},
        schema={"person_id": pl.Utf8, "identifier_value": pl.Utf8},
    )
    with open_warehouse(settings) as con:
        con.execute("create schema if not exists marts; create schema if not exists intermediate")
        con.register("p", frame)
        con.execute("create or replace table marts.dim_persons as select * from p")
        con.register("s", sup)
        con.execute(
            "create or replace table intermediate.int_email_suppressions as "
            "select email, reason as suppression_reason, "
            "timestamp '2026-01-01' as suppressed_since from s"
        )
        con.register("i", ids)
        con.execute(
            "create or replace table intermediate.int_identity_map as "
            "select 'email' as identifier_type, identifier_value, person_id from i"
        )
        con.execute("delete from raw.erasure_requests")
        con.register("e", pl.DataFrame({"email": list(erasures)}, schema={"email": pl.Utf8}))
        con.execute(
            "insert into raw.erasure_requests "
            "select email, timestamp '2026-03-01', 'erasure/x.csv', 1, now() from e"
        )
        if upsell is not None:
            up = pl.DataFrame(
                upsell,
                schema={
                    "person_id": pl.Utf8,
                    "recommended_product_id": pl.Utf8,
                    "current_product_id": pl.Utf8,
                },
            )
            con.register("u", up)
            con.execute("create or replace table marts.mart_upsell_candidates as select * from u")


def sync(
    settings: Any, dry_run: bool = False, http_sleep: Callable[[float], None] = time.sleep
) -> dict[tuple[str, str], dict]:
    """The product's sync without Prefect (sync.run_sync), its rows by (segment, destination)."""
    summary = run_sync(settings, dry_run=dry_run, http_sleep=http_sleep)
    return {(row["segment"], row["destination"]): row for row in summary.results}


SEGMENTS_YML = """
destinations:
  file:
    type: file
  ads_audience:
    type: ads_audience
    default_country_code: "44"
segments:
  - name: win_back
    description: at risk
    filter: "lifecycle_stage = 'at_risk'"
    fields: [person_id, email, name, net_revenue]
    destinations: [file, ads_audience]
  - name: everyone
    description: a careless filter that must still respect suppression
    filter: "true"
    fields: [person_id, email]
    destinations: [file, ads_audience]
"""
