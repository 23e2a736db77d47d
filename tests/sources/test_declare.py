"""The raw layer is declared once (flows/sources/specs.py): schema.sql and the validating select
are generated from the declaration, and a new field is one `Column`."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from flows.sources import records
from flows.sources.session import StagingSession
from flows.sources.specs import SCHEMA_SQL, SPECS, TARGETS, Column, schema_with_generated_block

from .conftest import seg, write_jsonl

ROOT = Path(__file__).resolve().parents[2]


def test_schema_sql_is_generated_from_the_declaration():
    """What a developer runs after editing specs.py; exit 1 means schema.sql is stale."""
    proc = subprocess.run(
        [sys.executable, "-m", "flows.sources.specs"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, "schema.sql is stale: run python -m flows.sources.specs --write-schema"
    text = SCHEMA_SQL.read_text()
    assert schema_with_generated_block(text) == text
    assert "create table if not exists raw.segment_events" in proc.stdout


def test_raw_tables_have_exactly_the_declared_columns():
    con = duckdb.connect()
    try:
        con.execute(SCHEMA_SQL.read_text())
        for target in TARGETS:
            schema, table = target.table.split(".")
            got = con.execute(
                "select column_name, lower(data_type), is_nullable from duckdb_columns() "
                "where schema_name = ? and table_name = ? order by column_index",
                [schema, table],
            ).fetchall()
            want = [(c.name, c.type.replace(" ", ""), not c.required) for c in target.fields]
            if target.json_column:
                want.append((target.json_column, "json", False))
            want += [
                ("_file", "varchar", False),
                ("_line", "bigint", False),
                ("_loaded_at", "timestamp", False),
            ]
            assert [(n, t.replace(" ", ""), nullable) for n, t, nullable in got] == want, target.table
    finally:
        con.close()


def test_a_new_raw_field_is_one_column(tmp_path):
    """docs/architecture.md "Adding a raw field": declare it, and the select extracts it."""
    web = SPECS["web"].targets[0]
    with_ip = dataclasses.replace(web, fields=(*web.fields, Column("ip", "varchar", "$.context.ip")))
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [seg(1, context={"ip": "10.0.0.1"}), seg(2), json.dumps({"type": "track"})],
    )
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        session = StagingSession(con)
        records.stage_lines_batch(session, [path])
        records.number_lines(session)
        rows = con.execute(
            f"select message_id, ip, reason from ({with_ip.select_sql}) order by line_no"
        ).fetchall()
    finally:
        con.close()
    assert rows == [("m-1", "10.0.0.1", None), ("m-2", None, None), (None, None, "missing messageId")]
    assert with_ip.columns[-2:] == ("ip", "message")
    # A warehouse created before the field existed gets it when schema.sql next runs.
    added = dataclasses.replace(
        web, fields=(*web.fields, Column("ip", "varchar", "$.context.ip", added=True))
    )
    con = duckdb.connect()
    try:
        con.execute(SCHEMA_SQL.read_text())
        con.execute(
            "insert into raw.segment_events values "
            "('m', 'track', null, 'a', null, null, now(), '{}', 'f', 1, now())"
        )
        con.execute(added.create_table_sql())
        assert con.execute("select message_id, ip from raw.segment_events").fetchall() == [("m", None)]
    finally:
        con.close()


def test_check_order_must_name_every_check():
    tickets = SPECS["tickets"].targets[0]
    broken = dataclasses.replace(tickets, check_order=tickets.check_order[:-1])
    with pytest.raises(ValueError, match="check_order must list"):
        broken.checks()


def test_write_connections_apply_schema_sql_only_when_missing_or_outdated(tmp_path, monkeypatch):
    """warehouse.connect: the first write connection creates the raw schema, later ones only read the
    catalog, and a warehouse that lacks a declared relation or an added column gets it."""
    from flows import warehouse
    from flows.settings import Settings

    settings = Settings(data_dir=tmp_path / "data")
    con = warehouse.connect(settings)
    try:
        assert con.execute("select count(*) from raw.segment_events").fetchall() == [(0,)]
        assert not warehouse.ensure_raw_schema(con)  # up to date: no DDL
        con.execute("drop view raw.zendesk_users_latest")
        con.execute("drop table raw.api_cursors")
    finally:
        con.close()
    con = warehouse.connect(settings)  # outdated: schema.sql runs again
    try:
        assert con.execute("select count(*) from raw.zendesk_users_latest").fetchall() == [(0,)]
        assert con.execute("select count(*) from raw.api_cursors").fetchall() == [(0,)]
        assert not warehouse.ensure_raw_schema(con)
    finally:
        con.close()
    # An upgrade that adds a column (Column(added=True) renders an `alter table ... add column`).
    upgraded = tmp_path / "schema.sql"
    upgraded.write_text(
        SCHEMA_SQL.read_text() + "alter table raw.spend add column if not exists note varchar;\n"
    )
    monkeypatch.setattr(warehouse, "RAW_SCHEMA_SQL", upgraded)
    warehouse._raw_schema_columns.cache_clear()
    try:
        con = warehouse.connect(settings)
        try:
            assert "note" in {r[0] for r in con.execute("describe raw.spend").fetchall()}
            assert not warehouse.ensure_raw_schema(con)
        finally:
            con.close()
    finally:
        warehouse._raw_schema_columns.cache_clear()
