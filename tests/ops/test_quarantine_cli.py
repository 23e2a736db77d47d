"""`lifecycle quarantine --check` (issue 16 item 6): the rows that block a gate move to raw.rejects
with a reason, the move is recorded, nothing else changes, and the gate's window then holds."""

from __future__ import annotations

import duckdb
import pytest

from flows.cli import main
from flows.warehouse import connect

ROWS = [
    ("m1", "2026-05-01 10:00:00", "web/a.jsonl", 1),
    ("m2", "2099-01-01 00:00:00", "web/a.jsonl", 2),  # the message dated 2099 of the issue
    ("m3", "2026-05-02 11:00:00", "web/b.jsonl", 1),
]


def _seed(settings) -> None:
    con = connect(settings)
    for mid, ts, f, line in ROWS:
        con.execute(
            "insert into raw.segment_events (message_id, type, ts, message, _file, _line, _loaded_at) "
            "values (?, 'track', ?, ?, ?, ?, now())",
            [mid, ts, f'{{"messageId": "{mid}"}}', f, line],
        )
    con.execute(
        "insert into raw.spend values ('2026-05-01', 'fb', 'paid', 'c', 1.5, 'USD', 'spend/x.csv', 2, now())"
    )
    con.close()


def _read(settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_quarantine_moves_only_the_offending_rows_with_a_reason(settings, capsys) -> None:
    _seed(settings)
    spend_before = _read(settings, "select * from raw.spend")
    check = "raw_web.timestamps_in_window"
    assert main(["quarantine", "--check", check, "--data-dir", str(settings.root)]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(
        f"quarantine {check}: moved 1 row(s) to raw.rejects with a reason (e.g. web/a.jsonl:2)"
    )
    assert [r[0] for r in _read(settings, "select message_id from raw.segment_events order by 1")] == [
        "m1",
        "m3",
    ]
    [(source, file, line, reason, raw_text)] = _read(
        settings, "select source, _file, _line, reason, raw_text from raw.rejects"
    )
    assert (source, file, line) == ("web", "web/a.jsonl", 2)
    assert reason.startswith(f"quarantined by `lifecycle quarantine --check {check}`: timestamp 2099-01-01")
    assert '"m2"' in raw_text
    assert _read(settings, "select check_name, rows_moved from raw.quarantine_log") == [(check, 1)]
    assert _read(settings, "select * from raw.spend") == spend_before  # nothing else changes
    # idempotent: a second call finds nothing and says so
    assert main(["quarantine", "--check", check, "--data-dir", str(settings.root)]) == 0
    assert "no offending rows" in capsys.readouterr().out
    assert _read(settings, "select count(*) from raw.rejects") == [(1,)]


def test_unknown_check_is_one_line_with_the_closest_check(settings, capsys) -> None:
    _seed(settings)
    assert (
        main(["quarantine", "--check", "raw_web.timestamp_in_window", "--data-dir", str(settings.root)]) == 1
    )
    assert capsys.readouterr().err.strip() == (
        "lifecycle quarantine: --check 'raw_web.timestamp_in_window' cannot be quarantined "
        "(did you mean 'raw_web.timestamps_in_window'?)"
    )


@pytest.mark.parametrize("check", ["raw_email.timestamps_in_window"])
def test_email_events_are_never_quarantined_away(settings, capsys, check) -> None:
    """An opt-out must never leave the warehouse (SPEC 10), so email checks are not offered."""
    _seed(settings)
    assert main(["quarantine", "--check", check, "--data-dir", str(settings.root)]) == 1
    assert "cannot be quarantined" in capsys.readouterr().err


def test_a_blocked_gate_names_the_rows_and_the_quarantine_command(settings) -> None:
    from flows.quality.quarantine import blocking_hints

    _seed(settings)
    failed = "raw gate FAILED: raw_web.timestamps_in_window: 1 of 3 rows after 2026-12-03 ..."
    assert blocking_hints(settings, failed) == [
        "raw_web.timestamps_in_window blocks on 1 row(s) of raw.segment_events (web/a.jsonl:2); "
        "`lifecycle quarantine --check raw_web.timestamps_in_window` moves them to raw.rejects with a reason"
    ]
    assert (
        main(["quarantine", "--check", "raw_web.timestamps_in_window", "--data-dir", str(settings.root)]) == 0
    )
    assert blocking_hints(settings, failed) == []  # the window now holds: nothing left to block on
    assert blocking_hints(settings, "raw_spend.rows_present failed") == []
