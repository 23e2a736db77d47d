"""Batched loads (many files, one read and one transaction) give exactly what file-by-file loads give.

The same mixed raw directory - clean and dirty JSONL, gzip, blank lines, bad bytes in one file of a
batch, a truncated gzip, empty files, JSON documents of every shape, Zendesk pages with several
entities - is ingested once with batching and once with every file alone (`ingest_batch_mib=0`);
every raw table, the quarantine and the manifest must be identical, lineage (_file, _line) included.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb

from flows.settings import Settings
from flows.sources.ingest import ingest_all

from .conftest import seg, sg, ticket, write_json, write_jsonl

_COMPARED = {
    "segment_events": "message_id, type, event, anonymous_id, user_id, previous_id, ts, message::varchar",
    "sendgrid_events": "sg_event_id, event, email, ts, category::varchar, asm_group_id, message::varchar",
    "zendesk_tickets": "id, updated_at, status, record::varchar",
    "zendesk_users": "id, updated_at, email, record::varchar",
    "zendesk_ticket_metrics": "id, ticket_id, updated_at, replies, record::varchar",
    "spend": "date, source, medium, campaign, spend, currency",
}


def _web(raw: Path) -> None:
    web = raw / "web"
    for day in range(6):
        rows: list = [seg(day * 100 + i) for i in range(40)]
        rows[5] = '{"messageId": "broken'  # malformed
        rows[9] = json.dumps(seg(day * 100 + 9, timestamp="not a time"))
        rows[12] = ""  # blank line: not a record
        rows.append(seg(day * 100 - 100 + 3))  # redelivery of yesterday's message: a duplicate
        rows.append(seg(day * 100 + 7))  # duplicate within the file
        gz = day % 2 == 1
        write_jsonl(web / "2026" / f"day{day}.jsonl{'.gz' if gz else ''}", rows, gz=gz)
    # Bad bytes in a file in the middle of the batch: only that file takes the slow path.
    bad = web / "2026" / "day3b.jsonl"
    bad.write_bytes(b'{"messageId": "x", "v": "\xff"}\n' + (json.dumps(seg(999)) + "\n").encode())
    # A truncated gzip stream.
    full = gzip.compress(b"".join((json.dumps(seg(500 + i)) + "\n").encode() for i in range(50)))
    (web / "2026" / "day4b.jsonl.gz").write_bytes(full[: len(full) // 2])
    (web / "2026" / "empty.jsonl").write_bytes(b"")
    write_json(web / "2026" / "day5b.json", [seg(700), seg(701), seg(3)])
    # JSON lines saved as .json, and a single-object document.
    (web / "2026" / "lines.json").write_text(json.dumps(seg(800)) + "\n" + json.dumps(seg(801)) + "\n")
    # A batched document after it repeats a message of that leftover file: the earlier file wins.
    write_json(web / "2026" / "one.json", seg(800))


def _email(raw: Path) -> None:
    email = raw / "email"
    for day in range(4):
        events = [sg(day * 50 + i, event="delivered" if i % 3 else "open") for i in range(30)]
        events.append(sg(day * 50 - 50 + 1, event="open" if 1 % 3 == 0 else "delivered"))  # yesterday's
        events.append(sg(day * 50 + 2, timestamp="soon"))  # unparseable timestamp
        write_json(email / f"post-{day}.json", events)
    (email / "post-2b.json").write_text('[{"sg_event_id": "z", "event": "open"')  # malformed document
    write_json(email / "post-2c.json", [])
    write_jsonl(email / "stream.jsonl", [sg(1000 + i) for i in range(10)] + ["nope"])


def _tickets(raw: Path) -> None:
    tickets = raw / "tickets"
    write_json(
        tickets / "a-tickets.json",
        {
            "tickets": [ticket(1, "2026-01-01T01:00:00Z"), ticket(2, "2026-01-01T02:00:00Z")],
            "after_cursor": "c1",
            "end_of_stream": False,
        },
    )
    write_json(
        tickets / "b-tickets.json",
        {
            "tickets": [ticket(1, "2026-01-02T01:00:00Z"), ticket(2, "2026-01-01T02:00:00Z"), {"id": "x"}],
            "next_page": None,
            "end_time": 1767312000,
        },
    )
    write_json(
        tickets / "c-mixed.json",
        {
            "users": [{"id": 101, "email": "A@x.com", "updated_at": "2026-01-01T00:00:00Z"}],
            "ticket_metrics": [{"id": 7, "ticket_id": 1, "replies": 2, "updated_at": "2026-01-02T00:00:00Z"}],
            "tickets": [ticket(3, "2026-01-03T00:00:00Z")],
        },
    )
    write_json(tickets / "d-empty.json", {"tickets": [], "end_of_stream": True})
    write_json(tickets / "e-other.json", {"organizations": [{"id": 1}]})
    write_json(tickets / "f-user.json", {"user": {"id": 102, "email": "b@x.com"}})


def _spend(raw: Path) -> None:
    (raw / "spend").mkdir(parents=True)
    (raw / "spend" / "s.csv").write_text(
        "date,source,medium,campaign,spend,currency\n2026-01-01,google,cpc,brand,10.50,usd\nbad,,,,,\n"
    )


def _raw_dir(root: Path) -> Path:
    raw = root / "raw"
    _web(raw)
    _email(raw)
    _tickets(raw)
    _spend(raw)
    return raw


def _snapshot(db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {
            table: con.execute(f"select {cols}, _file, _line from raw.{table} order by all").fetchall()
            for table, cols in _COMPARED.items()
        }
        out["rejects"] = con.execute(
            "select source, _file, _line, reason, raw_text from raw.rejects order by all"
        ).fetchall()
        out["manifest"] = con.execute(
            "select source, path, size_bytes, content_hash, rows_in, rows_loaded, duplicates, rejects, "
            "first_line, last_line, status from raw.load_manifest order by all"
        ).fetchall()
        return out
    finally:
        con.close()


def test_batched_load_equals_file_by_file(tmp_path, monkeypatch):
    from flows.sources import loader

    raw = _raw_dir(tmp_path / "src")
    results = {}
    # "numbered": the same batches with line numbers from a numbered copy of the lines instead of
    # read positions (what a parse that is not order-safe gets).
    for name, mib in (("batched", 512), ("alone", 0), ("numbered", 512)):
        data = tmp_path / name
        data.mkdir()
        (data / "raw").symlink_to(raw, target_is_directory=True)
        if name == "numbered":
            monkeypatch.setattr(loader, "order_safe", lambda con, sql: False)
        summary = ingest_all(Settings(data_dir=data, ingest_batch_mib=mib))
        results[name] = (summary, _snapshot(data / "warehouse.duckdb"))
    batched, alone, numbered = (results[k][1] for k in ("batched", "alone", "numbered"))
    for key in alone:
        assert batched[key] == alone[key], key
        assert numbered[key] == alone[key], key
    # The fixture exercises what it claims: rows, duplicates and rejects in every source.
    web = {r[1]: r for r in alone["manifest"] if r[0] == "web"}
    # day2: 41 records (one blank line), 2 rejects, a redelivery and a repeat within the file.
    assert web["web/2026/day2.jsonl"][4:8] == (41, 37, 2, 2)
    assert any(r[3].startswith("invalid UTF-8") for r in alone["rejects"])
    assert any("truncated gzip" in r[3] for r in alone["rejects"])
    assert any(r[0] == "email" and r[3] == "malformed JSON document" for r in alone["rejects"])
    assert any(r[0] == "tickets" and "not a Zendesk export page" in r[3] for r in alone["rejects"])
    summary = results["batched"][0]
    assert summary.total_rows > 0 and summary.total_duplicates > 0 and summary.total_rejects > 0


def test_batch_shares_one_transaction_and_a_rerun_loads_nothing(tmp_path):
    raw = _raw_dir(tmp_path / "src")
    data = tmp_path / "data"
    data.mkdir()
    (data / "raw").symlink_to(raw, target_is_directory=True)
    settings = Settings(data_dir=data)
    first = ingest_all(settings)
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        # The six clean daily files (plain and gzip mixed) share transactions, even with damaged
        # files in the same batch (which is halved until they load alone).
        commits = con.execute(
            "select count(distinct loaded_at), count(*) from raw.load_manifest "
            "where source = 'web' and path like 'web/2026/day_.jsonl%'"
        ).fetchall()[0]
    finally:
        con.close()
    assert commits[1] == 6 and commits[0] < commits[1]
    again = ingest_all(settings)
    assert again.total_rows == 0 and again.total_files == 0
    assert first.total_rows > 0


def test_batches_keep_path_order_and_cut_by_kind_and_size(tmp_path):
    from flows.sources.ingest import batches
    from flows.sources.loader import Planned
    from flows.sources.specs import SPECS

    def f(name: str, size: int) -> tuple[Path, Planned]:
        p = tmp_path / name
        p.write_bytes(b"x" * size)
        return p, Planned(name, size, 0, "h")

    files = [f("a.jsonl", 40), f("b.jsonl.gz", 5), f("c.json", 10), f("d.json", 10), f("e.jsonl", 30)]
    cut = batches(SPECS["email"], files, max_bytes=100)
    # .gz counts 8x its size: a (40) + b (40) fit; the documents c, d start a new batch; e another.
    assert [[p.name for p, _ in b] for b in cut] == [
        ["a.jsonl", "b.jsonl.gz"],
        ["c.json", "d.json"],
        ["e.jsonl"],
    ]
    assert [len(b) for b in batches(SPECS["email"], files, max_bytes=0)] == [1, 1, 1, 1, 1]


def test_line_sources_parse_in_read_order(tmp_path):
    """Web and email JSONL are numbered by read position, which needs a join-free parse plan."""
    from flows.sources import records
    from flows.sources.loader import order_safe
    from flows.sources.session import StagingSession
    from flows.sources.specs import SPECS

    path = tmp_path / "a.jsonl"
    write_jsonl(path, [seg(1)])
    con = duckdb.connect()
    try:
        session = StagingSession(con)
        records.stage_lines_batch(session, [path])
        for source in ("web", "email"):
            assert order_safe(session, SPECS[source].targets[0].select_sql), source
        # A join is not order-safe.
        assert not order_safe(session, "select * from _records where line in (select 'x' union select 'y')")
    finally:
        con.close()
