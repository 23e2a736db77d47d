"""Segment JSONL ingest: typed extraction, de-duplication, quarantine with reasons, accounting."""

from __future__ import annotations

import gzip
import json

from flows.sources.ingest import ingest_source

from .conftest import query, seg, write_json, write_jsonl


def test_loads_typed_columns_and_keeps_unknown_fields(settings, raw):
    write_jsonl(
        raw / "web" / "2026" / "01" / "day1.jsonl",
        [
            seg(1, timestamp="2026-01-01T10:00:00+02:00", futureField={"x": [1, 2]}),
            seg(2, type="Identify", event=None, userId="u-2", traits={"email": "A@x.com"}),
            seg(3, type="alias", previousId="anon-1", userId="u-3"),
        ],
    )
    summary = ingest_source(settings, "web")
    assert (summary.files, summary.rows, summary.duplicates, summary.rejects) == (1, 3, 0, 0)
    rows = query(
        settings,
        "select message_id, type, event, user_id, previous_id, ts::varchar, message->>'$.futureField', "
        "_file, _line from raw.segment_events order by _line",
    )
    assert rows[0] == (
        "m-1",
        "track",
        "Product Viewed",
        None,
        None,
        "2026-01-01 08:00:00",  # converted to naive UTC
        '{"x":[1,2]}',
        "web/2026/01/day1.jsonl",
        1,
    )
    assert rows[1][1] == "identify" and rows[1][3] == "u-2"
    assert rows[2][4] == "anon-1"


def test_every_bad_line_is_quarantined_with_a_reason_and_counts_add_up(settings, raw):
    lines = [
        json.dumps(seg(1)),
        '{"messageId": "m-2", "type": "track"',  # malformed
        "[1, 2, 3]",  # not an object
        json.dumps(seg(4, messageId=None)),
        json.dumps(seg(5, timestamp="yesterday-ish")),
        json.dumps(seg(6, anonymousId=None)),
        json.dumps(seg(7, type="bogus")),
        json.dumps(seg(8, timestamp=None)),
        "",  # blank lines are not records
        json.dumps(seg(9)),
    ]
    path = raw / "web" / "mixed.jsonl"
    path.parent.mkdir(parents=True)
    body = "\n".join(lines).encode() + b"\n" + b'{"messageId": "m-10", "bad": "\xff\xfe"}\n'
    body += (json.dumps(seg(11)) + "\n").encode()
    path.write_bytes(body)

    summary = ingest_source(settings, "web")
    assert (summary.rows, summary.duplicates, summary.rejects) == (3, 0, 8)
    rejects = dict(query(settings, "select _line, reason from raw.rejects where source = 'web'"))
    assert rejects == {
        2: "malformed JSON",
        3: "not a JSON object (array)",
        4: "missing messageId",
        5: "unparseable timestamp: yesterday-ish",
        6: "missing anonymousId and userId",
        7: "unknown type: bogus",
        8: "missing timestamp",
        10: "invalid UTF-8 bytes",
    }
    raw_text = query(settings, "select raw_text from raw.rejects where _line = 10")[0][0]
    assert "\\xff\\xfe" in raw_text  # bytes kept, visibly escaped
    manifest = query(settings, "select rows_in, rows_loaded, duplicates, rejects from raw.load_manifest")
    assert manifest == [(11, 3, 0, 8)]
    assert sorted(r[0] for r in query(settings, "select message_id from raw.segment_events")) == [
        "m-1",
        "m-11",
        "m-9",
    ]


def test_a_line_over_the_size_limit_is_quarantined_and_the_rest_loads(settings, raw, monkeypatch):
    from flows.sources import records

    # A small limit keeps the test cheap; the mechanism is the same at the real 8 MiB.
    limit = 4096
    monkeypatch.setattr(records, "MAX_LINE_BYTES", limit)
    monkeypatch.setattr(records, "_LINE_OPTS", records._LINE_OPTS.replace(str(8 << 20), str(limit)))
    big = json.dumps(seg(2, properties={"blob": "é" * limit}))
    write_jsonl(raw / "web" / "a.jsonl", [seg(0)])  # batched with b.jsonl, which then fails the batch
    (raw / "web" / "b.jsonl").write_text("\n".join([json.dumps(seg(1)), big, json.dumps(seg(3))]) + "\n")

    summary = ingest_source(settings, "web")
    assert (summary.files, summary.rows, summary.rejects) == (2, 3, 1)
    rejects = query(settings, "select _file, _line, reason, length(raw_text) from raw.rejects")
    reason = f"record longer than {limit} bytes ({len(big.encode())})"
    assert rejects == [("web/b.jsonl", 2, reason, len(big))]
    loaded = query(settings, "select _file, _line from raw.segment_events order by all")
    assert loaded == [("web/a.jsonl", 1), ("web/b.jsonl", 1), ("web/b.jsonl", 3)]


def test_truncated_gzip_keeps_lines_before_the_cut(settings, raw):
    data = gzip.compress("".join(json.dumps(seg(i)) + "\n" for i in range(2000)).encode())
    (raw / "web").mkdir()
    (raw / "web" / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    write_jsonl(raw / "web" / "ok.jsonl.gz", [seg(5000)], gz=True)

    summary = ingest_source(settings, "web")
    loaded = query(settings, "select count(*), max(_line) from raw.segment_events where _file like '%cut%'")[
        0
    ]
    assert 0 < loaded[0] < 2000 and loaded[0] == loaded[1]
    rejects = query(settings, "select _line, reason from raw.rejects")
    assert len(rejects) == 1 and rejects[0][0] == loaded[0] + 1
    assert rejects[0][1].startswith("truncated gzip stream")
    assert summary.rows == loaded[0] + 1 and summary.rejects == 1


def test_duplicates_across_files_and_runs_are_kept_once(settings, raw):
    write_jsonl(raw / "web" / "a.jsonl", [seg(1), seg(2), seg(1)])
    write_jsonl(raw / "web" / "b.jsonl.gz", [seg(2), seg(3)], gz=True)
    first = ingest_source(settings, "web")
    assert (first.rows, first.duplicates) == (3, 2)
    write_jsonl(raw / "web" / "c.jsonl", [seg(3), seg(4)])
    second = ingest_source(settings, "web")
    assert (second.files, second.rows, second.duplicates, second.skipped_files) == (1, 1, 1, 2)
    assert query(settings, "select count(*), count(distinct message_id) from raw.segment_events") == [(4, 4)]
    # The first occurrence wins, with its lineage.
    assert query(settings, "select _file, _line from raw.segment_events where message_id = 'm-2'") == [
        ("web/a.jsonl", 2)
    ]
    third = ingest_source(settings, "web")
    assert (third.files, third.rows, third.skipped_files) == (0, 0, 3)


def test_json_documents_single_object_array_and_broken(settings, raw):
    write_json(raw / "web" / "one.json", seg(1))
    write_json(raw / "web" / "many.json", [seg(2), seg(3), {"type": "page"}])
    (raw / "web" / "broken.json").write_text("{\n  All: true,\n  Salesforce: false,\n}\n")
    summary = ingest_source(settings, "web")
    assert (summary.rows, summary.rejects) == (3, 2)
    assert query(settings, "select _file, _line, reason from raw.rejects order by _file") == [
        ("web/broken.json", 1, "malformed JSON document"),
        ("web/many.json", 3, "missing messageId"),
    ]
