"""The staging session owns ingest's temp relations and scratch files: after a load that used all
of them (batches, a damaged file, Zendesk pages, CSV with bad rows) nothing is left behind."""

from __future__ import annotations

import gzip
import json

from flows.sources.ingest import ingest_files
from flows.sources.session import StagingSession
from flows.warehouse import connect

from .conftest import seg, sg, ticket, write_json, write_jsonl


def _temp_relations(con) -> list[str]:
    return sorted(
        r[0]
        for r in con.execute(
            "select view_name from duckdb_views() where temporary and not internal "
            "union all select table_name from duckdb_tables() where temporary and not internal"
        ).fetchall()
    )


def test_no_temp_relation_or_scratch_file_outlives_an_ingest(settings, raw):
    write_jsonl(raw / "web" / "a.jsonl", [seg(1), seg(2)])
    write_jsonl(raw / "web" / "b.jsonl.gz", [seg(3)], gz=True)
    (raw / "web" / "c.jsonl").write_bytes(json.dumps(seg(4)).encode() + b"\n\xff\xfe\n")  # slow path
    (raw / "web" / "d.jsonl").write_text(json.dumps(seg(5)) + "\n" + json.dumps(seg(6)))  # mid-write
    write_json(raw / "email" / "post.json", [sg(1), sg(2)])
    write_json(raw / "tickets" / "p1.json", {"tickets": [ticket(1, "2026-01-01T00:00:00Z")]})
    (raw / "spend").mkdir()
    (raw / "spend" / "s.csv").write_bytes(
        b"date,source,medium,campaign,spend,currency\n2026-01-01,g,cpc,x,1,USD\n2026-01-02,g\n"
    )
    (raw / "erasure").mkdir()
    (raw / "erasure" / "e.csv.gz").write_bytes(gzip.compress(b"email;requested_at\na@b.c;2026-01-01\n"))
    con = connect(settings)
    try:
        con.execute("create temp table _mine as select 1 as x")  # not the session's: left alone
        seen: list[str] = []
        for source in ("web", "email", "tickets", "spend", "erasure"):
            summary = ingest_files(
                con, settings, source, after_load=lambda c, s: seen.append(f"{s.source}:{s.files}")
            )
            assert summary.files > 0, source
            assert _temp_relations(con) == ["_mine"], source
        assert seen == ["web:4", "email:1", "tickets:1", "spend:1", "erasure:1"]
    finally:
        con.close()
    assert not list(settings.root.glob(".ingest-*"))


def test_a_session_over_a_bare_connection_cleans_up_what_another_made(tmp_path):
    """The Zendesk API loader holds only a connection: its commit still frees the parsed tables."""
    import duckdb

    con = duckdb.connect()
    try:
        first = StagingSession(con, tmp_path)
        first.execute(f"create temp table {first.parsed(0)} as select 1 as x")
        first.execute(f"create temp table {first.parsed_rows(2)} as select 1 as x")
        first.execute(f"create temp view {first.RECORDS} as select 1 as x")
        StagingSession.of(con).close()
        assert _temp_relations(con) == []
    finally:
        con.close()
    assert tmp_path.is_dir()  # a borrowed scratch directory is never removed
