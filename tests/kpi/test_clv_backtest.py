"""CLV backtest (flows.clv.backtest): buckets add up to the whole, actuals are the holdout's."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from flows.clv.backtest import run_backtest


def _summary(n: int = 200, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    cutoff = datetime(2026, 6, 1)
    freq = rng.poisson(1.5, n)
    tenure = rng.uniform(5, 30, n)
    recency = np.where(freq > 0, tenure * rng.uniform(0.2, 1.0, n), 0.0)
    return pl.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(n)],
            "frequency": freq.astype(float),
            "recency_weeks": recency,
            "tenure_weeks": tenure,
            "repeat_monetary_value": np.where(freq > 0, rng.uniform(20, 80, n), np.nan),
            "avg_order_value": rng.uniform(20, 80, n),
            "holdout_purchases": rng.poisson(1.0, n),
            "holdout_net_revenue": rng.uniform(0, 100, n),
            "first_order_at": [cutoff - timedelta(weeks=float(t)) for t in tenure],
            "cutoff_at": [cutoff] * n,
            "holdout_weeks": [26.0] * n,
            "as_of": [cutoff + timedelta(weeks=26)] * n,
        }
    ).with_columns(pl.col("repeat_monetary_value").fill_nan(None))


def test_buckets_add_up_and_actuals_are_the_holdout() -> None:
    summary = _summary()
    n = summary.height
    out = run_backtest(summary)
    total = out.filter(pl.col("bucket") == "all").row(0, named=True)
    parts = out.filter(pl.col("bucket") != "all")
    assert total["customers"] == n == parts["customers"].sum()
    assert total["actual_repeat_purchases"] == float(summary["holdout_purchases"].sum())
    assert abs(parts["predicted_repeat_purchases"].sum() - total["predicted_repeat_purchases"]) < 1e-6
    assert total["predicted_repeat_purchases"] > 0
    assert total["error_pct"] == (
        (total["predicted_repeat_purchases"] - total["actual_repeat_purchases"])
        / total["actual_repeat_purchases"]
    )
    assert set(parts["bucket"]) <= {"0", "1", "2", "3", "4", "5", "6", "7+"}


def test_empty_summary_gives_an_empty_backtest() -> None:
    empty = pl.DataFrame(schema={"frequency": pl.Float64})
    assert run_backtest(empty).height == 0


def test_the_same_customers_in_another_order_give_the_same_backtest() -> None:
    """dbt may store clv_backtest_summary in any order; the fit must not depend on it."""
    summary = _summary(n=400, seed=11)
    fitted = datetime(2026, 12, 1)
    shuffled = summary.sample(fraction=1.0, shuffle=True, seed=5)
    assert shuffled["person_id"].to_list() != summary["person_id"].to_list()
    assert run_backtest(summary, fitted_at=fitted).equals(run_backtest(shuffled, fitted_at=fitted))
