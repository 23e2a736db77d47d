"""Raw gate on real DuckDB warehouses: good data passes, broken data fails with a precise line."""

from __future__ import annotations

import re

from flows.quality.gates import run_raw_gate
from flows.warehouse import fetch_all, open_warehouse
from tests.quality.conftest import add_load, seed_raw


def test_good_raw_data_passes_and_is_recorded(quality_settings, warehouse):
    warehouse(seed_raw)

    result = run_raw_gate(quality_settings)

    assert result.passed, result.summary_line()
    assert result.failures == []
    history = {"raw_web", "raw_email", "raw_tickets", "raw_spend"}
    assert {s.suite for s in result.suite_results} == history | {"raw_web_load", "raw_email_load"}
    assert result.summary_line().startswith("gate raw: passed 6 suites")
    # Results persisted: one run row with counts, one row per check.
    with open_warehouse(quality_settings, read_only=True) as con:
        runs = fetch_all(con, "select stage, passed, suites, checks, failures from quality.validation_runs")
        checks = fetch_all(con, "select count(*), count_if(success) from quality.check_results")
    assert runs == [("raw", True, 6, result.checks, 0)]
    assert checks[0][0] == result.checks > 20
    # GX Data Docs built into the data dir, with this run's suites rendered.
    assert result.data_docs_path == quality_settings.root / "quality" / "data_docs" / "index.html"
    assert result.data_docs_path.is_file()
    assert "raw_web" in result.data_docs_path.read_text()


def test_timestamps_in_2099_fail_with_a_precise_line(quality_settings, warehouse):
    warehouse(lambda con: seed_raw(con, ts="timestamp '2099-01-01' + to_minutes(i)"))

    result = run_raw_gate(quality_settings)

    assert not result.passed
    keys = {f.key for f in result.failures}
    assert {"raw_web.timestamps_in_window", "raw_email.timestamps_in_window"} <= keys
    web = next(f for f in result.failures if f.key == "raw_web.timestamps_in_window")
    assert re.fullmatch(
        r"1,000 of 1,000 rows after \d{4}-\d\d-\d\d \d\d:\d\d UTC "
        r"\(tolerance 1 day; latest 2099-01-01 16:39 UTC\)",
        web.message,
    ), web.message
    line = result.summary_line()
    assert line.startswith("gate raw: FAILED raw_email.timestamps_in_window: 500 of 500 rows after "), line
    # The history suites name it first; GX's row checks of the newest loads agree (raw_*_load, issue 20).
    assert line.endswith(
        "(+4 more: raw_tickets.timestamps_in_window, raw_web.timestamps_in_window, "
        "raw_web_load.ts_in_window...)"
    ), line
    with open_warehouse(quality_settings, read_only=True) as con:
        assert fetch_all(con, "select passed, failures > 0 from quality.validation_runs") == [(False, True)]


def test_timestamps_before_the_configured_start_fail(quality_settings, warehouse, monkeypatch):
    monkeypatch.setenv("LIFECYCLE_QUALITY_MIN_EVENT_DATE", "2030-01-01")
    warehouse(seed_raw)

    result = run_raw_gate(quality_settings)

    web = next(f for f in result.failures if f.key == "raw_web.timestamps_in_window")
    assert web.message.startswith("1,000 of 1,000 rows before 2030-01-01 (earliest ")


def test_unknown_event_names_and_types_only_warn(quality_settings, warehouse):
    warehouse(
        seed_raw,
        "update raw.segment_events set event = 'Wishlist Shared' where type = 'track' and _line % 2 = 0",
        "update raw.sendgrid_events set event = 'machine_opened' where _line <= 7",
    )

    result = run_raw_gate(quality_settings)

    assert result.passed, result.summary_line()
    warned = {f.key: f.message for f in result.warnings}
    assert warned["raw_web.known_event_names"].endswith("outside the known set: Wishlist Shared")
    assert warned["raw_email.known_event_types"].startswith("7 events of a type outside the SendGrid set")
    assert "2 warnings" in result.summary_line() or "warnings" in result.summary_line()


def test_reject_rate_of_the_latest_load_over_threshold_fails(quality_settings, warehouse):
    # An old, bad load does not count; the newest batch (two files, 20 % rejected) does.
    warehouse(
        seed_raw,
        lambda con: add_load(con, "email", "email/old.json", rows_in=100, rejects=90, minutes_ago=600),
        lambda con: add_load(con, "web", "web/day2.jsonl", rows_in=997, rejects=397),
    )

    result = run_raw_gate(quality_settings)

    assert [f.key for f in result.failures] == ["raw_web.reject_rate"]
    assert result.failures[0].message == (
        "latest web load quarantined 400 of 2,000 lines (20.0%, max 10%) across 2 files; see raw.rejects"
    )


def test_reject_rate_threshold_is_configurable_by_environment(quality_settings, warehouse, monkeypatch):
    monkeypatch.setenv("LIFECYCLE_QUALITY_REJECT_RATE_MAX", "0.25")
    warehouse(seed_raw, lambda con: add_load(con, "web", "web/day2.jsonl", rows_in=997, rejects=397))

    assert run_raw_gate(quality_settings).passed


def test_duplicates_missing_ids_and_bad_emails_fail(quality_settings, warehouse):
    warehouse(
        seed_raw,
        "insert into raw.segment_events select * from raw.segment_events where _line <= 5",
        "update raw.segment_events set anonymous_id = null, user_id = '' where _line between 10 and 29",
        "update raw.sendgrid_events set email = 'not-an-email' where _line <= 50",
        "update raw.sendgrid_events set email = 'anonymous' where _line between 51 and 100",
    )

    result = run_raw_gate(quality_settings)

    failed = {f.key: f.message for f in result.failures}
    assert failed["raw_web.ids_unique"] == "5 duplicate messageIds remain after de-duplication"
    assert failed["raw_web.identity_present"] == (
        "2.0% of messages have neither anonymousId nor userId (max 1.0%)"
    )
    # Placeholders like 'anonymous' are identity guard-rail business, not malformed addresses.
    assert failed["raw_email.email_format"] == (
        "11.1% of event emails are malformed (max 5.0%), e.g. not-an-email"
    )


def test_a_suite_that_cannot_be_measured_fails_closed(quality_settings, warehouse):
    warehouse(seed_raw, "alter table raw.spend rename column currency to ccy")

    result = run_raw_gate(quality_settings)

    failed = {f.key: f.message for f in result.failures}
    assert failed["raw_spend.measurable"].startswith("metrics query failed: Binder Error")
    assert "currency" in failed["raw_spend.measurable"]


def test_gx_judges_the_rows_of_the_new_load_and_data_docs_show_the_failing_values(
    quality_settings, warehouse
):
    """Issue 20: GX validates the new load's rows (not a metrics row); the failing values are in Data Docs.

    History before the new load is clean and passed a gate; the new web file carries a far-future
    timestamp, a repeated messageId and a malformed email. GX judges only the 4 rows loaded since that
    gate; the history-wide SQL suite blocks too (same outcome as before). A failed gate moves no
    watermark, so the next gate judges the same rows again and still blocks.
    """

    def new_load(con) -> None:
        con.execute(
            """
            insert into raw.segment_events
            select 'new-' || (i % 3), case when i = 0 then 'identify' else 'page' end, null, 'anon-new', null,
                   null, case when i = 1 then timestamp '2099-05-05' else now()::timestamp end,
                   case when i = 0 then json_object('traits', json_object('email', 'broken@@mail'))
                        else '{}'::json end,
                   'web/day2.jsonl', i + 1, now()::timestamp
            from range(4) t(i)
            """
        )
        add_load(con, "web", "web/day2.jsonl", rows_in=4, rejects=0)

    warehouse(lambda con: seed_raw(con, ts="now()::timestamp - to_minutes(i) - interval 2 hour"))
    with open_warehouse(quality_settings) as con:
        con.execute("update raw.load_manifest set loaded_at = loaded_at - interval 2 hour")
    first = run_raw_gate(quality_settings)
    assert first.passed, first.summary_line()
    warehouse(new_load)

    result = run_raw_gate(quality_settings)

    assert not result.passed
    load = next(s for s in result.suite_results if s.suite == "raw_web_load")
    failed = {f.check: f for f in load.findings if not f.success}
    assert {"ts_in_window", "message_id_unique", "identify_email_format"} <= set(failed), failed
    assert failed["ts_in_window"].severity == "error"
    assert "1 of 4 rows of the web rows loaded since the last passing gate" in str(failed["ts_in_window"])
    assert "2099-05-05" in failed["ts_in_window"].message
    assert failed["identify_email_format"].severity == "warn"
    assert "broken@@mail" in failed["identify_email_format"].message
    # The same rows fail the history-wide suite, so the gate's verdict is what it was before.
    assert {"raw_web.timestamps_in_window", "raw_web.ids_unique"} <= {f.key for f in result.failures}
    pages = list(
        (quality_settings.root / "quality" / "data_docs" / "validations" / "raw_web_load").rglob("*.html")
    )
    assert pages and any("broken@@mail" in p.read_text() for p in pages)
    again = run_raw_gate(quality_settings)
    assert not again.passed
    load = next(s for s in again.suite_results if s.suite == "raw_web_load")
    assert "1 of 4 rows" in next(f for f in load.findings if f.check == "ts_in_window").message
