"""Small real warehouses for the gate tests, built directly with DuckDB SQL.

The gates only read tables, so a test states exactly the raw rows and marts it needs instead of
depending on the whole generate -> ingest -> dbt chain (tests of that chain live with it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from flows.settings import Settings, configure_environment
from flows.warehouse import open_warehouse

SEGMENTS_YML = """
destinations:
  file:
    type: file
segments:
  - name: at_risk_list
    description: at-risk persons (test segment)
    filter: "lifecycle_stage = 'at_risk'"
    fields: [person_id, email]
    destinations: [file]
"""


@pytest.fixture
def quality_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A fresh data dir; dbt source freshness off (it has its own slow test) and a one-segment config."""
    monkeypatch.setenv("LIFECYCLE_QUALITY_CHECK_SOURCE_FRESHNESS", "false")
    segments = tmp_path / "segments.yml"
    segments.write_text(SEGMENTS_YML)
    s = Settings(data_dir=tmp_path / "data", segments_file=segments)
    configure_environment(s)
    return s


def seed_raw(con: duckdb.DuckDBPyConnection, ts: str = "now()::timestamp - to_minutes(i)") -> None:
    """Plausible raw data for every source; `ts` is the SQL expression for event time (row index i)."""
    con.execute(
        f"""
        insert into raw.segment_events
        select
            'msg-' || i,
            case i % 4 when 0 then 'page' when 1 then 'track' when 2 then 'identify' else 'screen' end,
            case when i % 4 = 1 then (['Product Viewed', 'Order Completed', 'Signed Up'])[1 + i % 3] end,
            'anon-' || (i // 3),
            case when i % 2 = 0 then 'user-' || (i // 6) end,
            null,
            {ts},
            case when i % 4 = 2 then json_object('traits', json_object('email', 'p' || i || '@example.com'))
                 else '{{}}'::json end,
            'web/day1.jsonl', i + 1, now()::timestamp
        from range(1000) t(i)
        """
    )
    con.execute(
        f"""
        insert into raw.sendgrid_events (sg_event_id, event, email, ts, bounce_type, message, _file, _line,
                                         _loaded_at)
        select
            'sg-' || i,
            (['processed', 'delivered', 'open', 'click', 'bounce'])[1 + i % 5],
            'p' || (i % 100) || '@example.com',
            {ts},
            case when i % 5 = 4 then 'bounce' end,
            '{{}}'::json, 'email/batch1.json', i + 1, now()::timestamp
        from range(500) t(i)
        """
    )
    con.execute(
        f"""
        insert into raw.zendesk_tickets (id, requester_id, status, priority, via_channel, created_at,
                                         updated_at, satisfaction_score, record, _file, _line, _loaded_at)
        select i, 1000 + i % 20, (['open', 'solved', 'pending'])[1 + i % 3], 'normal', 'email',
               {ts} - interval 1 day, {ts}, (['good', 'bad', 'offered'])[1 + i % 3],
               '{{}}'::json, 'tickets/p1.json', i + 1, now()::timestamp
        from range(60) t(i)
        """
    )
    con.execute(
        """
        insert into raw.zendesk_users (id, email, name, record, _file, _line, _loaded_at)
        select 1000 + i, 'p' || i || '@example.com', 'P' || i, '{}'::json, 'tickets/u1.json', i + 1,
               now()::timestamp
        from range(20) t(i);
        insert into raw.zendesk_ticket_metrics (id, ticket_id, replies, record, _file, _line, _loaded_at)
        select i, i, 1, '{}'::json, 'tickets/m1.json', i + 1, now()::timestamp from range(60) t(i);
        insert into raw.spend (date, source, medium, campaign, spend, currency, _file, _line, _loaded_at)
        select current_date - cast(i as integer), 'google', 'cpc', 'brand', 10.5, 'USD', 'spend/s.csv', i + 1,
               now()::timestamp
        from range(30) t(i);
        insert into raw.erasure_requests values ('gone@example.com', now()::timestamp, 'erasure/e.csv', 1,
                                                 now()::timestamp);
        """
    )
    add_load(con, "web", "web/day1.jsonl", rows_in=1003, rejects=3)
    add_load(con, "email", "email/batch1.json", rows_in=500, rejects=0)
    add_load(con, "tickets", "tickets/p1.json", rows_in=140, rejects=0)
    add_load(con, "spend", "spend/s.csv", rows_in=30, rejects=0)


def add_load(
    con: duckdb.DuckDBPyConnection, source: str, path: str, rows_in: int, rejects: int, minutes_ago: int = 0
) -> None:
    con.execute(
        """
        insert into raw.load_manifest (source, path, size_bytes, content_hash, loaded_at, rows_in,
                                       rows_loaded, duplicates, rejects)
        values (?, ?, 100, md5(?), now()::timestamp - to_minutes(cast(? as integer)), ?, ?, 0, ?)
        """,
        [source, path, path, minutes_ago, rows_in, rows_in - rejects, rejects],
    )


def seed_marts(con: duckdb.DuckDBPyConnection, persons: int = 200) -> None:
    """Marts honouring the contract: one row per person, SPEC stages, a monotonic funnel, rates in [0, 1]."""
    con.execute(
        f"""
        create schema if not exists marts;
        create schema if not exists intermediate;
        create or replace table marts.dim_persons as
        select
            'person-' || lpad(i::varchar, 5, '0') as person_id,
            'p' || i || '@example.com' as email,
            timestamp '2026-06-01' + to_days(i % 120) as first_seen_at,
            i % 7 <> 0 as is_lead,
            (['reach', 'acquisition', 'conversion', 'retention', 'loyalty', 'at_risk', 'churned'])[1 + i % 7]
                as lifecycle_stage,
            case when i % 7 = 1 then (['open', 'contacted', 'qualified', 'unqualified'])[1 + i % 4] end
                as lead_status,
            (i * 7) % 101 as lead_score,
            case when i % 7 >= 2 then 1 + i % 5 else 0 end as order_count,
            false as is_email_suppressed,
            timestamp '2026-11-01' as as_of,
        from range({persons}) t(i);
        create or replace table marts.fct_orders as
        select
            'order-' || i as order_id,
            'person-' || lpad((i % {persons})::varchar, 5, '0') as person_id,
            timestamp '2026-07-01' + to_hours(i) as ordered_at,
            50.0 as net_revenue,
            1 as order_number,
        from range(300) t(i);
        create or replace table marts.mart_funnel_monthly as
        select
            date '2026-06-01' + to_months(i) as month,
            100 - i as leads,
            40 - i as customers,
            (40 - i) / (100 - i) as lead_to_customer_rate,
        from range(5) t(i);
        create or replace table intermediate.int_email_suppressions as
        select 'p' || i || '@example.com' as email, 'hard_bounce' as suppression_reason
        from range(1000, 1010) t(i);
        """
    )


@pytest.fixture
def warehouse(quality_settings: Settings) -> Callable[..., None]:
    """Run SQL against the test warehouse, e.g. `warehouse(seed_raw)` or `warehouse("delete ...")`."""

    def apply(*steps: Callable[[duckdb.DuckDBPyConnection], None] | str) -> None:
        with open_warehouse(quality_settings) as con:
            for step in steps:
                if isinstance(step, str):
                    con.execute(step)
                else:
                    step(con)

    return apply
