"""Raw-layer copy DuckDB -> PostgreSQL: types, awkward values, idempotence and atomicity."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg2
import pytest

from flows.errors import LifecycleError
from flows.portability import raw_copy
from flows.portability.raw_copy import PostgresConnection, copy_raw_to_postgres, postgres_type
from flows.warehouse import open_warehouse
from tests.postgres.conftest import SCRIPT, parse_connection


def _query(pg: PostgresConnection, sql: str) -> list[tuple]:
    con = pg.connect()
    try:
        with con.cursor() as cur:
            cur.execute(sql)
            rows = cur.fetchall()
        con.commit()
        return rows
    finally:
        con.close()


def _seed_warehouse(settings) -> None:
    """A warehouse with the contract's raw schema and values PostgreSQL is picky about."""
    with open_warehouse(settings) as con:
        con.execute(
            """
            insert into raw.segment_events values
            ('m1', 'track', 'Order Completed', 'a1', 'u1', null, '2026-01-02 03:04:05.123456',
             '{"properties": {"total": 12.50, "note": "nul\\u0000byte", "products": [{"sku": "A"}]}}',
             'web/a.jsonl', 1, '2026-01-03 00:00:00'),
            ('m2', 'page', null, 'a2', '', null, '2026-01-02 00:00:00', '{"q": "comma, \\"quote\\"\\nline"}',
             'web/a.jsonl', 2, '2026-01-03 00:00:00'),
            ('m3' || chr(0), 'identify', null, null, 'u3', null, '2026-01-02 00:00:00', '[]',
             'web/b.jsonl', 1, '2026-01-03 00:00:00')
            """
        )
        con.execute(
            "insert into raw.spend values "
            "('2026-01-01', 'google', 'cpc', null, 10.25, 'USD', 's.csv', 2, now())"
        )


def test_postgres_type_mapping() -> None:
    assert postgres_type("JSON") == "jsonb"
    assert postgres_type("DECIMAL(18,2)") == "numeric(18, 2)"
    assert postgres_type("TIMESTAMP WITH TIME ZONE") == "timestamptz"
    assert postgres_type("VARCHAR[]") == "jsonb"
    assert postgres_type("STRUCT(a INTEGER)") == "jsonb"
    assert postgres_type("BIGINT") == "bigint"


def test_script_start_is_idempotent(postgres_server: PostgresConnection, postgres_dir: Path) -> None:
    again = subprocess.run(
        ["bash", str(SCRIPT), "start", str(postgres_dir)], capture_output=True, text=True, check=True
    )
    assert parse_connection(again.stdout) == postgres_server
    assert _query(postgres_server, "select current_user, inet_server_addr()::text") == [
        ("lifecycle", "127.0.0.1/32")
    ]


def test_copy_preserves_values_and_is_idempotent(settings, pg_database: PostgresConnection) -> None:
    _seed_warehouse(settings)
    first = copy_raw_to_postgres(settings.warehouse_path, pg_database, work_dir=settings.root / "tmp")
    assert first.tables["raw.segment_events"] == 3
    assert first.tables["raw.spend"] == 1
    assert first.tables["raw.rejects"] == 0  # every contract table exists, empty ones too

    rows = _query(
        pg_database,
        """
        select message_id, user_id, ts::text, message #>> '{properties,total}',
               message #>> '{properties,note}', message #>> '{q}', jsonb_typeof(message)
        from raw.segment_events order by message_id
        """,
    )
    assert rows == [
        ("m1", "u1", "2026-01-02 03:04:05.123456", "12.50", "nulbyte", None, "object"),
        ("m2", "", "2026-01-02 00:00:00", None, None, 'comma, "quote"\nline', "object"),
        ("m3", "u3", "2026-01-02 00:00:00", None, None, None, "array"),
    ]
    assert _query(pg_database, "select campaign, spend from raw.spend") == [(None, pytest.approx(10.25))]

    # A dbt staging view over the raw table must survive a re-copy (truncate, not drop).
    _query(pg_database, "create view public.v as select message_id from raw.segment_events; select 1")
    second = copy_raw_to_postgres(settings.warehouse_path, pg_database)
    assert second.tables == first.tables
    assert _query(pg_database, "select count(*) from public.v") == [(3,)]


def test_changed_shape_recreates_table(settings, pg_database: PostgresConnection) -> None:
    _seed_warehouse(settings)
    copy_raw_to_postgres(settings.warehouse_path, pg_database)
    with open_warehouse(settings) as con:
        con.execute("alter table raw.spend add column channel_group varchar")
    copy_raw_to_postgres(settings.warehouse_path, pg_database)
    cols = _query(
        pg_database,
        "select column_name from information_schema.columns "
        "where table_schema = 'raw' and table_name = 'spend' order by ordinal_position",
    )
    assert cols[-1] == ("channel_group",)


def test_failed_copy_leaves_previous_copy_intact(
    settings, pg_database: PostgresConnection, monkeypatch
) -> None:
    _seed_warehouse(settings)
    copy_raw_to_postgres(settings.warehouse_path, pg_database)
    with open_warehouse(settings) as con:
        con.execute("delete from raw.segment_events")
        con.execute("alter table raw.spend add column extra varchar")  # forces a re-create ...

    def boom(*args, **kwargs):  # ... which fails after earlier tables were already truncated
        raise psycopg2.OperationalError("simulated crash mid-copy")

    monkeypatch.setattr(raw_copy, "_create_table_sql", boom)
    with pytest.raises(psycopg2.OperationalError):
        copy_raw_to_postgres(settings.warehouse_path, pg_database)
    assert _query(pg_database, "select count(*) from raw.segment_events") == [(3,)]
    assert _query(pg_database, "select count(*) from raw.spend") == [(1,)]


def test_clear_errors(settings, tmp_path: Path) -> None:
    with pytest.raises(LifecycleError, match="no warehouse"):
        copy_raw_to_postgres(tmp_path / "missing.duckdb", PostgresConnection())
    _seed_warehouse(settings)
    closed = PostgresConnection(port=1)
    with pytest.raises(LifecycleError, match="cannot connect to PostgreSQL"):
        copy_raw_to_postgres(settings.warehouse_path, closed)
