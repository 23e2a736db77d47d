"""Through `lifecycle run`: a failed raw gate exits non-zero with the precise line and leaves the last
published marts and audience files untouched (publish, sync and report never run)."""

from __future__ import annotations

import hashlib
import json

import duckdb
import pytest


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_timestamps_in_2099_stop_lifecycle_run_before_publish_and_sync(
    prefect_harness, quality_settings, monkeypatch, capsys
):
    from flows.cli import main

    s = quality_settings
    # The last good run's outputs.
    s.published_dir.mkdir(parents=True)
    with duckdb.connect(str(s.published_path)) as con:
        con.execute("create table dim_persons as select 'p-1' as person_id")
    audience = s.outbound_dir / "file" / "win_back" / "latest.csv"
    audience.parent.mkdir(parents=True)
    audience.write_text("person_id,email\np-1,p1@example.com\n")
    before = {p: (_digest(p), p.stat().st_mtime_ns) for p in (s.published_path, audience)}
    # New raw data: every message dated 2099.
    web = s.raw_dir / "web" / "2099.jsonl"
    web.parent.mkdir(parents=True)
    web.write_text(
        "".join(
            json.dumps(
                {
                    "messageId": f"m-{i}",
                    "type": "track",
                    "event": "Product Viewed",
                    "anonymousId": f"a-{i % 7}",
                    "timestamp": f"2099-01-01T00:{i % 60:02d}:00Z",
                }
            )
            + "\n"
            for i in range(120)
        )
    )

    status = main(["run", "--data-dir", str(s.root)])

    out = capsys.readouterr()
    text = out.out + out.err
    assert status == 1
    lines = text.splitlines()
    final = [line for line in lines if line.startswith("lifecycle run FAILED")][-1]
    # the next line names the offending rows and the command that moves them (issue 16 item 6)
    hint = lines[lines.index(final) + 1]
    assert hint.startswith("lifecycle run: raw_web.timestamps_in_window blocks on 120 row(s) of "), hint
    assert "`lifecycle quarantine --check raw_web.timestamps_in_window`" in hint, hint
    assert final.startswith(
        "lifecycle run FAILED at raw gate: gate raw: FAILED raw_web.timestamps_in_window: "
        "120 of 120 rows after "
    ), final
    assert "skipped: " in final and "publish" in final
    assert {p: (_digest(p), p.stat().st_mtime_ns) for p in (s.published_path, audience)} == before
    assert sorted(p.name for p in audience.parent.iterdir()) == ["latest.csv"]
