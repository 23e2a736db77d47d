"""A CSV whose header cannot be used (the wrong delimiter, a missing column) rejects each data line
with its own text, so lines in = loaded + duplicates + rejects holds per line (issue 21 item 3)."""

from __future__ import annotations

import gzip

from flows.sources.ingest import ingest_source

from .conftest import query


def test_wrong_delimiter_rejects_every_line_with_its_text(settings, raw):
    (raw / "spend").mkdir()
    lines = [
        "2026-01-01;google;cpc;brand;12.50;USD",
        "2026-01-02;meta;paid_social;;3;EUR",
        "2026-01-03;bing;cpc;x;1;USD",  # no newline at the end, as CSV exports often do
    ]
    (raw / "spend" / "semi.csv").write_bytes(
        ("date;source;medium;campaign;spend;currency\r\n" + "\r\n".join(lines)).encode()
    )
    summary = ingest_source(settings, "spend")
    assert (summary.rows_in, summary.rows, summary.duplicates, summary.rejects) == (3, 0, 0, 3)
    rejects = query(settings, "select _file, _line, raw_text, reason from raw.rejects order by _line")
    assert [(r[0], r[1], r[2]) for r in rejects] == [
        ("spend/semi.csv", i + 2, line) for i, line in enumerate(lines)
    ]
    assert {r[3] for r in rejects} == {
        "header lacks required columns ['date', 'source', 'medium', 'campaign', 'spend', 'currency'] "
        "(found ['date;source;medium;campaign;spend;currency']); the header is ';'-delimited, expected ','"
    }
    manifest = query(
        settings, "select rows_in, rows_loaded, duplicates, rejects, last_line from raw.load_manifest"
    )
    assert manifest == [(3, 0, 0, 3, 4)]
    assert query(settings, "select count(*) from raw.spend") == [(0,)]


def test_missing_column_in_a_gzip_rejects_each_line_and_a_header_only_file_its_header(settings, raw):
    (raw / "erasure").mkdir()
    (raw / "erasure" / "a.csv.gz").write_bytes(gzip.compress(b"email\ngone@example.com\n\nx@y.z\n"))
    (raw / "erasure" / "b.csv").write_text("mail,requested_at\n")
    summary = ingest_source(settings, "erasure")
    assert (summary.rows_in, summary.rows, summary.rejects) == (3, 0, 3)
    rejects = query(settings, "select _file, _line, raw_text, reason from raw.rejects order by _file, _line")
    assert [r[:3] for r in rejects] == [
        ("erasure/a.csv.gz", 2, "gone@example.com"),
        ("erasure/a.csv.gz", 3, "x@y.z"),  # blank lines are not records (as in a good CSV)
        ("erasure/b.csv", 1, "mail,requested_at"),  # no data line: the header itself, never silent
    ]
    assert rejects[0][3] == "header lacks required columns ['requested_at'] (found ['email'])"
    assert rejects[2][3].startswith("header lacks required columns ['email']")


def test_bad_bytes_in_a_rejected_csv_keep_their_line(settings, raw):
    (raw / "spend").mkdir()
    (raw / "spend" / "x.csv").write_bytes(b"day,source\n2026-01-01,g\xff\n2026-01-02,h\n")
    summary = ingest_source(settings, "spend")
    assert (summary.rows_in, summary.rejects) == (2, 2)
    rejects = query(settings, "select _line, raw_text, reason from raw.rejects order by _line")
    assert [r[:2] for r in rejects] == [(2, "2026-01-01,g\\xff"), (3, "2026-01-02,h")]
    assert rejects[0][2].endswith("; invalid UTF-8 bytes")
