"""The demo's generated win-back effect is recovered by mart_segment_lift, within its 95% interval.

A user's view: generate a world with a known treatment effect, load and build it, let sync adopt
the simulated syncs' assignments, and read the lift mart. Also recomputes every number of the
`all` row independently in Python (scipy's exact t quantile for Welch), and checks that a dbt full
refresh leaves the assignments and the lift unchanged.

Over 20 s (about 2 min on 2 busy cores): it needs its own generated data set, larger and with a
stronger effect and holdout than the session's `built_warehouse` (600 persons, default effect),
so that the interval is narrow enough to mean something; only the models upstream of the mart run.
"""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest
from scipy import stats

from flows.activation.config import parse_config
from flows.activation.holdouts import import_history
from flows.warehouse import fetch_all, open_warehouse

pytestmark = pytest.mark.slow

EFFECT = 0.5
SHARE = 0.5
BAD_ADDRESS_SHARE = 0.025  # flows/generate/population.py: mailboxes that hard-bounce (no effect)
# A fixed first day: with `start=None` the world (and so the sample the interval is drawn from)
# changed with the date the suite ran on, and a 95% interval misses the true effect in about one
# sample of twenty, so the test could fail on an unlucky day. Fixed, the same seed gives the same
# world every day; the checks stay as strict.
START = date(2026, 1, 5)
CONFIG = {
    "destinations": {"file": {"type": "file"}},
    "segments": [
        {
            "name": "win_back",
            "description": "at risk",
            "filter": "lifecycle_stage = 'at_risk'",
            "fields": ["person_id", "email"],
            "destinations": ["file"],
            "holdout": SHARE,
        }
    ],
}
ALL_ROW = (
    "select treated_persons, holdout_persons, treated_conversion_rate, holdout_conversion_rate, "
    "conversion_lift, conversion_lift_ci_low, conversion_lift_ci_high, conversion_lift_significant, "
    "treated_revenue_per_person, holdout_revenue_per_person, revenue_lift_ci_low, revenue_lift_ci_high "
    "from marts.mart_segment_lift where segment = 'win_back' and cohort_grain = 'all'"
)


@pytest.fixture(scope="module")
def lift_world(tmp_path_factory):
    from flows.generate import generate
    from flows.settings import Settings, configure_environment
    from flows.sources.ingest import ingest_all
    from flows.transform.dbt import run_dbt

    s = Settings(data_dir=tmp_path_factory.mktemp("lift") / "data")
    configure_environment(s)
    generate(
        s.raw_dir,
        customers=2500,
        days=270,
        seed=11,
        start=START,
        dirty_rate=0.0,
        winback_effect=EFFECT,
        holdout_share=SHARE,
    )
    ingest_all(s)
    assert run_dbt(
        s,
        [
            "build",
            "--select",
            "+mart_segment_lift",
            "--exclude",
            "resource_type:test",
            "resource_type:unit_test",
        ],
    ).success
    return s


def _independent(con, window_days: int = 30) -> dict[str, float]:
    """Per-person outcomes from the sync table and fct_orders, then the textbook formulas."""
    as_of = fetch_all(  # SPEC 6 as_of: the latest ingested event (macro lifecycle_as_of)
        con,
        "select greatest((select max(ts) from raw.segment_events), "
        "(select max(ts) from raw.sendgrid_events), (select max(updated_at) from raw.zendesk_tickets))",
    )[0][0]
    people = pl.DataFrame(
        fetch_all(con, "select person_id, assigned_group, assigned_at from sync.holdout_assignments"),
        schema=["person_id", "group", "assigned_at"],
        orient="row",
    )
    orders = pl.DataFrame(
        fetch_all(con, "select person_id, ordered_at, net_revenue from marts.fct_orders"),
        schema=["person_id", "ordered_at", "net_revenue"],
        orient="row",
    )
    window = pl.duration(days=window_days)
    measured = people.filter(pl.col("assigned_at") + window <= as_of)
    hits = (
        measured.join(orders, on="person_id")
        .filter(
            (pl.col("ordered_at") > pl.col("assigned_at"))
            & (pl.col("ordered_at") <= pl.col("assigned_at") + window)
        )
        .group_by("person_id")
        .agg(pl.col("net_revenue").cast(pl.Float64).sum().alias("revenue"))
    )
    out = measured.join(hits, on="person_id", how="left").with_columns(pl.col("revenue").fill_null(0.0))
    g = {k: out.filter(pl.col("group") == k) for k in ("treated", "holdout")}
    n = {k: g[k].height for k in g}
    p = {k: g[k]["person_id"].is_in(hits["person_id"].implode()).mean() for k in g}
    mean = {k: g[k]["revenue"].mean() for k in g}
    var = {k: g[k]["revenue"].var() for k in g}
    se = math.sqrt(sum(p[k] * (1 - p[k]) / n[k] for k in g))
    se2 = {k: var[k] / n[k] for k in g}
    df = sum(se2.values()) ** 2 / sum(se2[k] ** 2 / (n[k] - 1) for k in g)
    t = stats.t.ppf(0.975, df)
    diff = mean["treated"] - mean["holdout"]
    return {
        "n_t": n["treated"],
        "n_h": n["holdout"],
        "p_t": p["treated"],
        "p_h": p["holdout"],
        "lo": p["treated"] - p["holdout"] - stats.norm.ppf(0.975) * se,
        "hi": p["treated"] - p["holdout"] + stats.norm.ppf(0.975) * se,
        "mean_t": mean["treated"],
        "mean_h": mean["holdout"],
        "rev_lo": diff - t * math.sqrt(sum(se2.values())),
        "rev_hi": diff + t * math.sqrt(sum(se2.values())),
    }


def test_generated_effect_recovered_within_interval(lift_world):
    from flows.transform.dbt import run_dbt

    s = lift_world
    with open_warehouse(s) as con:
        counts = import_history(con, s.raw_dir, parse_config(CONFIG), s.holdout_salt, "test")
        again = import_history(con, s.raw_dir, parse_config(CONFIG), s.holdout_salt, "test-2")
        assignments = sorted(fetch_all(con, "select * from sync.holdout_assignments"))
        row = fetch_all(con, ALL_ROW)[0]
        expected = _independent(con)
    assert counts["adopted"] > 80 and counts["mismatched"] == 0
    assert again["adopted"] == 0  # idempotent: first entry wins

    n_t, n_h, p_t, p_h, lift, lo, hi, significant, mean_t, mean_h, rev_lo, rev_hi = row
    # The mart agrees with the independent computation.
    assert (n_t, n_h) == (expected["n_t"], expected["n_h"])
    assert (p_t, p_h) == pytest.approx((expected["p_t"], expected["p_h"]))
    assert (lo, hi) == pytest.approx((expected["lo"], expected["hi"]), abs=1e-6)
    assert (mean_t, mean_h) == pytest.approx((expected["mean_t"], expected["mean_h"]))
    assert (rev_lo, rev_hi) == pytest.approx((expected["rev_lo"], expected["rev_hi"]), rel=2e-3)

    # The effect put into the world: each reachable treated person orders again with probability
    # EFFECT; those who would have converted anyway add nothing, so the conversion lift is about
    # EFFECT * (1 - bad addresses) * (1 - baseline), the baseline being the holdout's rate.
    true_lift = EFFECT * (1 - BAD_ADDRESS_SHARE) * (1 - p_h)
    assert lo <= true_lift <= hi, (lo, true_lift, hi)
    assert significant and lo > 0 and rev_lo > 0

    # A dbt full refresh of the lift models keeps the assignments and the numbers.
    assert run_dbt(
        s, ["run", "--full-refresh", "--select", "stg_sync__holdout_assignments", "mart_segment_lift"]
    ).success
    with open_warehouse(s, read_only=True) as con:
        assert sorted(fetch_all(con, "select * from sync.holdout_assignments")) == assignments
        assert fetch_all(con, ALL_ROW)[0] == pytest.approx(row)  # parallel sums: last bits may differ

    # What the marketer reads: the report's lift panel, with intervals and small cohorts called out.
    from flows.report import build_report

    html = build_report(s).read_text()
    assert 'data-panel="Holdout lift per segment" data-state="ok"' in html
    panel = html[html.index('data-panel="Holdout lift per segment"') :]
    panel = panel[: panel.index("</section>")]
    assert 'data-segment="win_back"' in panel and "all cohorts" in panel
    assert f"{100 * lift:+.1f} pts [{100 * lo:+.1f}, {100 * hi:+.1f}]" in panel
    assert "more conversions" in panel and "too small to tell" in panel
