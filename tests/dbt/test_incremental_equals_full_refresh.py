"""Incremental builds give exactly the tables a full refresh gives (issue 4).

Load half the raw data, build; load the rest (plus a re-delivered duplicate), build again
incrementally; snapshot every core table; then `build --full-refresh` and compare row for row.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from flows.settings import Settings, configure_environment
from flows.transform.dbt import run_dbt
from flows.warehouse import fetch_all, open_warehouse
from tests.dbt.dbt_raw_rows import RawBatch, ts
from tests.dbt.test_identity_and_stages import CORE_SELECTION, first_load

pytestmark = pytest.mark.slow

# Models only: tests run in test_identity_and_stages; here only the tables matter.
FAST = ["--select", CORE_SELECTION, "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]

TABLES = [
    "staging.stg_segment__events",
    "staging.stg_sendgrid__events",
    "intermediate.int_web_identities_deduplicated",
    "intermediate.int_identity_edges",
    "intermediate.int_identity_map",
    "intermediate.int_web_identities_resolved",
    "intermediate.int_web_events_classified",
    "intermediate.int_web_events_resolved",
    "intermediate.int_email_messages_accumulated",
    "intermediate.int_email_messages_aggregated",
    "marts.fct_web_events",
    "marts.fct_orders",
    "marts.fct_order_items",
    "marts.fct_email_events",
    "marts.fct_tickets",
    "marts.fct_lifecycle_transitions",
    "marts.dim_persons",
]


def split(batch: RawBatch) -> tuple[RawBatch, RawBatch]:
    first, second = RawBatch(), RawBatch()
    for name in ("segment", "sendgrid", "tickets", "users"):
        rows = getattr(batch, name)
        getattr(first, name).extend(rows[::2])
        getattr(second, name).extend(rows[1::2])
    # a message delivered again in the second load must be kept once
    second.segment.append(batch.segment[0])
    second.sendgrid.append(batch.sendgrid[0])
    # One email message whose events arrive in both loads: its send and delivery, loaded second,
    # are earlier than the open loaded first, so its send month moves from May to April. One
    # message in each load alone.
    first.email("mm1-o", "open", "mm@example.com", ts(125), sg_message_id="mm-1")
    second.email("mm1-p", "processed", "mm@example.com", ts(119.5), sg_message_id="mm-1")
    second.email("mm1-d", "delivered", "mm@example.com", ts(119.6), sg_message_id="mm-1")
    first.email("mm2-d", "delivered", "mm@example.com", ts(90), sg_message_id="mm-2")
    second.email("mm3-d", "delivered", "mm@example.com", ts(95), sg_message_id="mm-3")
    return first, second


def snapshot(con) -> dict[str, list[tuple]]:
    out = {}
    for table in TABLES:
        cols = [r[0] for r in fetch_all(con, f"select * from (describe {table})")]
        keep = ", ".join(f'"{c}"' for c in cols if c not in ("message", "products"))
        out[table] = fetch_all(con, f"select {keep} from {table} order by all")
    return out


# 0: the default high-water mark; 2880 minutes: a lookback that re-reads the whole first load in the
# second build, so every incremental model must drop what it already holds.
@pytest.mark.parametrize("lookback_minutes", [0, 2880])
def test_incremental_build_equals_full_refresh(tmp_path: Path, lookback_minutes: int, request) -> None:
    s = Settings(data_dir=tmp_path / "data")
    lookback = {"incremental_lookback_minutes": lookback_minutes}
    request.addfinalizer(configure_environment(s).restore)
    first, second = split(first_load())
    with open_warehouse(s) as con:
        first.write(con, loaded_at=datetime(2026, 11, 1))
    run_dbt(s, ["build", *FAST], vars=lookback)
    with open_warehouse(s) as con:
        persons_before = dict(
            fetch_all(con, "select message_id, person_id from intermediate.int_web_events_resolved")
        )
        second.write(con, loaded_at=datetime(2026, 11, 2))
    run_dbt(s, ["build", *FAST], vars=lookback)
    with open_warehouse(s) as con:
        incremental = snapshot(con)
        persons_after = dict(
            fetch_all(con, "select message_id, person_id from intermediate.int_web_events_resolved")
        )
        raw_web = fetch_all(con, "select count(distinct message_id) from raw.segment_events")[0][0]
    run_dbt(s, ["build", "--full-refresh", *FAST], vars=lookback)
    with open_warehouse(s) as con:
        full = snapshot(con)
    assert len(incremental["staging.stg_segment__events"]) == raw_web
    assert len(incremental["marts.dim_persons"]) > 20
    messages = {r[2]: r for r in incremental["intermediate.int_email_messages_aggregated"]}
    # send month April, processed and delivered, one open
    assert (str(messages["mm-1"][0]), messages["mm-1"][4:10]) == ("2026-04-01", (1, 1, 0, 0, 0, 1))
    assert {"mm-2", "mm-3"} <= messages.keys()
    # The second load merges identities, so the incremental run must move earlier events too.
    moved = [m for m, p in persons_before.items() if persons_after[m] != p]
    assert moved, "the fixture should move some earlier events to another person"
    for table in TABLES:
        assert incremental[table] == full[table], table
