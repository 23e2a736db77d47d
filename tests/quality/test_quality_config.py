"""Suite and threshold files: parsing, overrides and message rendering (plain, fast)."""

from __future__ import annotations

from datetime import datetime

import pytest

from flows.quality.config import (
    QualityConfigError,
    load_suites,
    load_thresholds,
    parse_suite,
    render_message,
    render_sql,
    sql_literal,
)
from flows.quality.results import Finding, GateResult, SuiteResult


def test_every_shipped_suite_parses_with_bounds_resolved():
    thresholds = load_thresholds(environ={})
    raw, mart = load_suites("raw", thresholds), load_suites("mart", thresholds)
    assert [s.name for s in raw] == ["raw_email", "raw_spend", "raw_tickets", "raw_web"]
    assert [s.name for s in mart] == ["mart_orders", "mart_persons"]
    reject = next(c for c in raw[3].checks if c.name == "reject_rate")
    assert reject.max == thresholds["reject_rate_max"] == 0.1
    assert {c.severity for s in raw + mart for c in s.checks} == {"error", "warn"}


def test_environment_overrides_thresholds_with_typed_values():
    values = load_thresholds(
        environ={"LIFECYCLE_QUALITY_REJECT_RATE_MAX": "0.2", "LIFECYCLE_QUALITY_KNOWN_WEB_TYPES": "[page]"}
    )
    assert values["reject_rate_max"] == 0.2
    assert values["known_web_types"] == ["page"]


def test_sql_rendering_quotes_values():
    assert sql_literal(["a", "it's"]) == "('a', 'it''s')"
    assert sql_literal([]) == "(null)"
    assert sql_literal(datetime(2026, 11, 24, 1, 2)) == "timestamp '2026-11-24 01:02:00'"
    assert render_sql("x in ${s} and y < ${n} and z ~ '$$'", {"s": ["a"], "n": 3}, "t") == (
        "x in ('a') and y < 3 and z ~ '$'"
    )
    with pytest.raises(QualityConfigError, match="unknown or malformed placeholder"):
        render_sql("${missing}", {}, "suite x")


def test_malformed_suites_are_clear_errors():
    base = {"suite": "s", "stage": "raw", "metrics_sql": "select 1 as a"}
    with pytest.raises(QualityConfigError, match="severity must be one of"):
        parse_suite(
            {**base, "checks": [{"name": "c", "metric": "a", "message": "m", "severity": "fatal"}]}, {}, "f"
        )
    with pytest.raises(QualityConfigError, match="not a number or a known"):
        parse_suite(
            {**base, "checks": [{"name": "c", "metric": "a", "message": "m", "max": "${nope}"}]}, {}, "f"
        )
    with pytest.raises(QualityConfigError, match="missing key 'checks'"):
        parse_suite(base, {}, "f")


def test_message_parts_with_zero_lead_are_left_out():
    parts = ["{a:,} after {cut}", "{b:,} before {start}"]
    assert render_message(parts, {"a": 12000, "b": 0, "cut": "X", "start": "Y"}) == "12,000 after X"
    assert render_message(parts, {"a": 1, "b": 2, "cut": "X", "start": "Y"}) == "1 after X; 2 before Y"
    assert render_message("{x:.1%} of {y}", {"x": None, "y": 3}) == "n/a of 3"


def test_summary_line_names_the_first_failure_and_counts_the_rest():
    def finding(check: str, severity: str, ok: bool) -> Finding:
        return Finding("raw", "raw_web", check, severity, ok, f"{check} went wrong")

    result = GateResult(
        "raw",
        [
            SuiteResult(
                "raw",
                "raw_web",
                [
                    finding("a", "error", False),
                    finding("b", "error", False),
                    finding("c", "warn", False),
                    finding("d", "error", True),
                ],
            )
        ],
    )
    assert not result.passed
    assert result.summary_line() == "gate raw: FAILED raw_web.a: a went wrong (+1 more: raw_web.b)"
    assert [r["status"] for r in result.to_rows()] == ["failed", "failed", "warned", "passed"]
    ok = GateResult("raw", [SuiteResult("raw", "raw_web", [finding("c", "warn", False)])])
    assert ok.passed
    assert ok.summary_line() == "gate raw: passed 1 suites, 1 checks, 1 warnings (raw_web.c)"
