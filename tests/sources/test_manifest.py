"""The load manifest: each file loads once; grown files load their tail; changed files are
quarantined, never doubled; an incomplete last line waits for the writer."""

from __future__ import annotations

import json
import os

from flows.sources.ingest import ingest_source

from .conftest import query, seg, write_jsonl


def test_grown_file_loads_only_the_new_tail(settings, raw):
    path = write_jsonl(raw / "web" / "live.jsonl", [seg(1), seg(2)])
    assert ingest_source(settings, "web").rows == 2
    with path.open("a") as fh:
        fh.write(json.dumps(seg(3)) + "\n" + json.dumps(seg(1)) + "\n")
    summary = ingest_source(settings, "web")
    assert (summary.rows, summary.duplicates, summary.rejects) == (1, 1, 0)
    assert query(settings, "select _line from raw.segment_events where message_id = 'm-3'") == [(3,)]
    manifest = query(
        settings, "select status, first_line, last_line, rows_in from raw.load_manifest order by loaded_at"
    )
    assert manifest == [("new", 1, 2, 2), ("appended", 3, 4, 2)]


def test_changed_file_is_quarantined_once_and_not_reloaded(settings, raw):
    path = write_jsonl(raw / "web" / "f.jsonl", [seg(1), seg(2)])
    ingest_source(settings, "web")
    write_jsonl(path, [seg(7), seg(8), seg(9)])  # rewritten, not appended
    summary = ingest_source(settings, "web")
    assert (summary.files, summary.rows, summary.rejects) == (1, 0, 1)
    reason = query(settings, "select reason from raw.rejects")[0][0]
    assert reason.startswith("file changed after load")
    again = ingest_source(settings, "web")
    assert (again.files, again.rejects, again.skipped_files) == (0, 0, 1)
    assert query(settings, "select count(*) from raw.segment_events") == [(2,)]


def test_touched_file_is_not_reloaded_and_not_rehashed_next_time(settings, raw):
    path = write_jsonl(raw / "web" / "f.jsonl", [seg(1)])
    ingest_source(settings, "web")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    summary = ingest_source(settings, "web")
    assert (summary.files, summary.skipped_files) == (0, 1)
    assert query(settings, "select mtime_ns from raw.load_manifest") == [(st.st_mtime_ns + 10**9,)]


def test_incomplete_last_line_waits_for_the_writer(settings, raw):
    path = raw / "web" / "w.jsonl"
    path.parent.mkdir(parents=True)
    full = json.dumps(seg(2))
    path.write_text(json.dumps(seg(1)) + "\n" + full[:20])
    first = ingest_source(settings, "web")
    assert (first.rows, first.rejects) == (1, 0)
    with path.open("a") as fh:
        fh.write(full[20:] + "\n")
    second = ingest_source(settings, "web")
    assert (second.rows, second.rejects) == (1, 0)
    assert query(settings, "select message_id, _line from raw.segment_events order by _line") == [
        ("m-1", 1),
        ("m-2", 2),
    ]
