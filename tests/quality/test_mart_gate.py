"""Mart gate on real DuckDB warehouses: contract violations, collapses and bad audiences block publish."""

from __future__ import annotations

import polars as pl
import pytest

from flows.quality.gates import run_mart_gate
from flows.warehouse import fetch_all, open_warehouse
from tests.quality.conftest import seed_marts


def test_good_marts_pass_and_real_audiences_are_checked(quality_settings, warehouse):
    warehouse(seed_marts)

    result = run_mart_gate(quality_settings)

    assert result.passed, str(result)
    suites = {s.suite: s for s in result.suite_results}
    # No row-count suite yet: the first passing run is the baseline.
    assert {"mart_persons", "mart_orders", "mart_rates", "mart_audiences"} == set(suites)
    # flows.activation.audiences.compute_audiences ran on the test segments file and was checked.
    checks = {f.check for f in suites["mart_audiences"].findings}
    assert {"at_risk_list.no_duplicates", "at_risk_list.no_suppressed_emails"} <= checks
    assert "mart_funnel_monthly.lead_to_customer_rate_in_0_1" in {
        f.check for f in suites["mart_rates"].findings
    }
    with open_warehouse(quality_settings, read_only=True) as con:
        counts = dict(fetch_all(con, "select table_name, row_count from quality.table_counts"))
    assert counts["marts.dim_persons"] == 200


def test_duplicate_persons_fail_the_mart_gate(quality_settings, warehouse):
    warehouse(
        seed_marts,
        "insert into marts.dim_persons select * from marts.dim_persons where person_id in "
        "('person-00003', 'person-00004')",
    )

    result = run_mart_gate(quality_settings)

    assert not result.passed
    failure = next(f for f in result.failures if f.key == "mart_persons.one_row_per_person")
    assert failure.message == (
        "2 person_ids appear more than once (2 extra rows of 202), e.g. person-00003, person-00004"
    )
    assert result.summary_line().startswith("gate mart: FAILED mart_persons.one_row_per_person: 2 person_ids")


def test_stage_outside_spec_and_broken_funnel_fail(quality_settings, warehouse):
    warehouse(
        seed_marts,
        "update marts.dim_persons set lifecycle_stage = 'dormant' where person_id = 'person-00010'",
        "update marts.dim_persons set is_lead = false, order_count = 2 "
        "where first_seen_at < timestamp '2026-07-01'",
    )

    result = run_mart_gate(quality_settings)

    failed = {f.key: f.message for f in result.failures}
    assert failed["mart_persons.stage_in_spec_set"] == (
        "1 of 200 persons have a lifecycle_stage outside the SPEC set: dormant"
    )
    assert failed["mart_persons.funnel_monotonic"] == (
        "1 cohorts break reach >= leads >= customers: 2026-06 (reach 60, leads 0, customers 60)"
    )


def test_rates_outside_unit_interval_fail(quality_settings, warehouse):
    warehouse(seed_marts, "update marts.mart_funnel_monthly set lead_to_customer_rate = 1.4 where leads = 99")

    result = run_mart_gate(quality_settings)

    failed = {f.key: f.message for f in result.failures}
    assert failed["mart_rates.mart_funnel_monthly.lead_to_customer_rate_in_0_1"] == (
        "1 of 5 rows of marts.mart_funnel_monthly.lead_to_customer_rate lie outside [0, 1] "
        "(min 0.375, max 1.4)"
    )


def test_email_rate_above_one_warns_and_publishes_but_a_negative_one_blocks(quality_settings, warehouse):
    # Two unique opens of one delivery: the delivered event was quarantined (bad timestamp). SPEC 7's
    # open rate is then 2.0; that is the input's truth, reported as a warning, and must not block
    # every later run (it did: the build failed on the day the generator produced such a campaign).
    email_mart = (
        "create or replace table marts.mart_email_campaign_performance as "
        "select * from (values ('c1', 1, 2, 2.0), ('c2', 10, 4, 0.4)) "
        "t(campaign_id, delivered, unique_opens, open_rate)"
    )
    warehouse(seed_marts, email_mart)

    result = run_mart_gate(quality_settings)

    assert result.passed, str(result)
    warned = {f.key: f.message for f in result.warnings}
    assert warned["mart_rates.mart_email_campaign_performance.open_rate_at_most_one"] == (
        "1 of 2 rows of marts.mart_email_campaign_performance.open_rate lie above 1 (min 0.4, max 2.0): "
        "more opens, clicks or reports than deliveries (events quarantined?)"
    )

    warehouse("update marts.mart_email_campaign_performance set open_rate = -0.1 where campaign_id = 'c2'")

    failed = {f.key: f.message for f in run_mart_gate(quality_settings).failures}
    assert failed["mart_rates.mart_email_campaign_performance.open_rate_not_negative"] == (
        "1 of 2 rows of marts.mart_email_campaign_performance.open_rate are negative (min -0.1, max 2.0)"
    )


def test_row_count_collapse_fails_against_the_last_passing_run(quality_settings, warehouse):
    warehouse(seed_marts)
    assert run_mart_gate(quality_settings).passed  # the baseline

    warehouse("delete from marts.fct_orders where order_id not in ('order-1', 'order-2', 'order-3')")
    first = run_mart_gate(quality_settings)
    second = run_mart_gate(quality_settings)

    for result in (first, second):  # a failed run never becomes the baseline
        failed = {f.key: f.message for f in result.failures}
        assert failed == {
            "mart_row_counts.fct_orders_not_collapsed": (
                "marts.fct_orders has 3 rows, 300 in the last passing run (99% fewer; at most 50% allowed)"
            )
        }
    with open_warehouse(quality_settings, read_only=True) as con:
        runs = fetch_all(con, "select passed from quality.validation_runs order by finished_at")
    assert runs == [(True,), (False,), (False,)]


def test_dropped_mart_fails_as_missing_and_collapsed(quality_settings, warehouse):
    warehouse(seed_marts)
    assert run_mart_gate(quality_settings).passed
    warehouse("drop table marts.dim_persons")

    result = run_mart_gate(quality_settings)

    failed = {f.key: f.message for f in result.failures}
    assert failed["mart_persons.tables_exist"].startswith("marts.dim_persons missing")
    assert failed["mart_row_counts.dim_persons_not_collapsed"].startswith("marts.dim_persons has 0 rows, 200")


def test_duplicate_and_suppressed_audience_rows_fail(quality_settings, warehouse, monkeypatch):
    """Feeds the check a broken audience (what a bug in activation would produce)."""
    import flows.activation.audiences as audiences

    warehouse(seed_marts)
    broken = pl.DataFrame(
        {
            "person_id": ["person-00001", "person-00001", "person-00002", "person-00003"],
            "email": ["p1@example.com", "p1@example.com", " P1001@Example.com", "p3@example.com"],
        }
    )
    monkeypatch.setattr(audiences, "compute_audiences", lambda settings, con: {"vip": broken})

    result = run_mart_gate(quality_settings)

    failed = {f.key: f.message for f in result.failures}
    assert failed == {
        "mart_audiences.vip.no_duplicates": (
            "segment vip: 1 repeated person_ids and 1 repeated emails in 4 rows"
        ),
        "mart_audiences.vip.no_suppressed_emails": (
            "segment vip: 1 suppressed addresses (in intermediate.int_email_suppressions) in 4 rows"
        ),
    }


def test_audiences_that_cannot_be_computed_fail_closed(quality_settings, warehouse):
    warehouse(seed_marts, "drop table intermediate.int_email_suppressions")

    result = run_mart_gate(quality_settings)

    failed = {f.key: f.message for f in result.failures}
    assert failed["mart_audiences.computable"].startswith("audiences cannot be computed: ")
    assert "int_email_suppressions" in failed["mart_audiences.computable"]


@pytest.mark.parametrize("status, key", [("fail", "failures"), ("warn", "warnings")])
def test_dbt_test_results_feed_the_gate(quality_settings, warehouse, status, key):
    import json

    warehouse(seed_marts)
    target = quality_settings.dbt_target_dir
    target.mkdir(parents=True)
    (target / "run_results.json").write_text(
        json.dumps(
            {
                "metadata": {"generated_at": "2026-11-23T10:00:00Z"},
                "args": {"which": "build"},
                "results": [
                    {"unique_id": "model.lifecycle.dim_persons", "status": "success"},
                    {"unique_id": "test.lifecycle.unique_dim_persons_person_id.abc", "status": status},
                ],
            }
        )
    )

    result = run_mart_gate(quality_settings)

    findings = {f.key: f.message for f in getattr(result, key)}
    check = "dbt_tests.tests_pass" if status == "fail" else "dbt_tests.tests_without_warnings"
    assert findings[check].startswith("1 dbt ")
    assert findings[check].endswith("in the build of 2026-11-23T10:00:00Z: unique_dim_persons_person_id")
