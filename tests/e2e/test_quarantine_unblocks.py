"""The analytics engineer's morning, end to end: a run blocked by one bad message, the quarantine
command the failure names, and the next run passing (its own file, so the two slow e2e modules run
on both test processes)."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from tests.e2e.cli import lifecycle

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
START = date(2026, 3, 2)


def test_a_run_blocked_by_one_bad_message_is_unblocked_by_the_quarantine_command_it_names(
    env, tmp_path
) -> None:
    """The analytics engineer's morning: last night's run was blocked by one web message dated 2099.
    The failure names the rows and the command; they run that command, and the next run passes
    (the message is in raw.rejects with its reason, and nothing else moved)."""
    data = tmp_path / "data"
    gen = lifecycle(
        env, "generate", "--data-dir", str(data), "--customers", "120", "--days", "30",
        "--seed", "5", "--start", START.isoformat(), "--dirty-rate", "0",
    )  # fmt: skip
    assert gen.returncode == 0, gen.stderr
    future = {
        "type": "track",
        "event": "Product Viewed",
        "messageId": "msg-from-2099",
        "anonymousId": "anon-2099",
        "timestamp": "2099-01-01T00:00:00Z",
        "properties": {},
    }
    (data / "raw" / "web" / "zz_late.jsonl").write_text(json.dumps(future) + "\n")

    blocked = lifecycle(env, "run", "--data-dir", str(data))

    assert blocked.returncode == 1
    assert "FAILED at raw gate" in blocked.stdout.strip().splitlines()[-1]
    hint = [line for line in blocked.stderr.splitlines() if "lifecycle quarantine" in line]
    assert hint == [
        "lifecycle run: raw_web.timestamps_in_window blocks on 1 row(s) of raw.segment_events "
        "(web/zz_late.jsonl:1); `lifecycle quarantine --check raw_web.timestamps_in_window` moves them "
        "to raw.rejects with a reason"
    ], blocked.stderr
    moved = lifecycle(env, "quarantine", "--check", "raw_web.timestamps_in_window", "--data-dir", str(data))
    assert moved.returncode == 0, moved.stderr

    passed = lifecycle(env, "run", "--data-dir", str(data))

    assert passed.returncode == 0, passed.stdout[-3000:] + passed.stderr[-3000:]
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        rejects = con.execute(
            "select reason from raw.rejects where source = 'web' and raw_text like '%msg-from-2099%'"
        ).fetchall()
        left = con.execute(
            "select count(*) from raw.segment_events where message_id = 'msg-from-2099'"
        ).fetchall()
    finally:
        con.close()
    assert len(rejects) == 1 and "timestamps_in_window" in rejects[0][0]
    assert left == [(0,)]
