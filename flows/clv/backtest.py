"""CLV calibration / holdout backtest: refit on the history before a cut-off, check what happened next.

Why: a predicted CLV is only worth acting on if the model predicts this business's customers. Fader,
Hardie and Lee (2005, "Counting your customers the easy way", section 5) check BG/NBD on CDNOW by
fitting on a calibration period and comparing, per number of repeat purchases in calibration, the
expected number of repeat purchases in the holdout with the actual number. This does the same with
the production predictor (`predict_clv`, fallbacks included) and the holdout length as the horizon,
so the error stated in the report is the error of the numbers the report shows.

Input: one row per customer whose first order is before the cut-off (dbt model
`clv_backtest_summary`): the calibration inputs (frequency, recency_weeks, tenure_weeks,
repeat_monetary_value, avg_order_value) plus holdout_purchases and holdout_net_revenue, cutoff_at,
holdout_weeks and as_of. Output: one row per frequency bucket (0, 1, ..., 6, "7+") and one "all" row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from flows.clv.predict import predict_clv

TOP_BUCKET = 7  # frequencies of 7 or more share one bucket ("7+"), as in FHL 2005 figure 4

BACKTEST_SCHEMA: dict[str, Any] = {
    "bucket": pl.Utf8,
    "bucket_order": pl.Int64,
    "customers": pl.Int64,
    "actual_repeat_purchases": pl.Float64,
    "predicted_repeat_purchases": pl.Float64,
    "actual_per_customer": pl.Float64,
    "predicted_per_customer": pl.Float64,
    "error_pct": pl.Float64,
    "mean_abs_error_per_customer": pl.Float64,
    "actual_holdout_revenue": pl.Float64,
    "predicted_holdout_revenue": pl.Float64,
    "revenue_error_pct": pl.Float64,
    "cutoff_at": pl.Datetime("us"),
    "as_of": pl.Datetime("us"),
    "holdout_weeks": pl.Float64,
    "calibration_weeks": pl.Float64,
    "bgnbd_used": pl.Boolean,
    "gg_used": pl.Boolean,
    "fit_status": pl.Utf8,
}


def _bucket(frequency: np.ndarray) -> np.ndarray:
    capped = np.minimum(np.nan_to_num(frequency, nan=0.0), TOP_BUCKET).astype(int)
    return capped


def _pct(predicted: float, actual: float) -> float | None:
    """Relative error; NULL when nothing actually happened (a rate with a zero denominator)."""
    return (predicted - actual) / actual if actual else None


def run_backtest(summary: pl.DataFrame, *, fitted_at: datetime | None = None) -> pl.DataFrame:
    """Per frequency bucket and overall: actual vs predicted holdout repeat purchases and revenue."""
    if summary.height == 0:
        return pl.DataFrame(schema=BACKTEST_SCHEMA)
    # One order for the same customers: the likelihood sums in row order, so a different storage
    # order of the same input gave a (slightly) different fit from build to build.
    summary = summary.sort("person_id")
    cutoff = summary["cutoff_at"].max()
    as_of = summary["as_of"].max()
    holdout_weeks = float(summary["holdout_weeks"].max())
    first = summary["first_order_at"].min()
    calibration_weeks = (cutoff - first).total_seconds() / 604800.0 if cutoff and first else None

    result = predict_clv(summary, cutoff, horizon_weeks=holdout_weeks, fitted_at=fitted_at)
    predicted = result.predictions["expected_purchases_12m"].fill_null(0.0).to_numpy()
    predicted_revenue = result.predictions["predicted_clv_12m"].fill_null(0.0).to_numpy()
    actual = summary["holdout_purchases"].cast(pl.Float64).fill_null(0.0).to_numpy()
    actual_revenue = summary["holdout_net_revenue"].cast(pl.Float64).fill_null(0.0).to_numpy()
    buckets = _bucket(summary["frequency"].cast(pl.Float64).to_numpy())
    fit = result.fit

    rows: list[dict[str, Any]] = []
    groups = [
        (str(b) if b < TOP_BUCKET else f"{TOP_BUCKET}+", b, buckets == b) for b in range(TOP_BUCKET + 1)
    ]
    groups.append(("all", TOP_BUCKET + 1, np.ones(buckets.size, dtype=bool)))
    for label, order, mask in groups:
        n = int(mask.sum())
        if n == 0:
            continue
        a, p = float(actual[mask].sum()), float(predicted[mask].sum())
        ar, pr = float(actual_revenue[mask].sum()), float(predicted_revenue[mask].sum())
        rows.append(
            {
                "bucket": label,
                "bucket_order": order,
                "customers": n,
                "actual_repeat_purchases": a,
                "predicted_repeat_purchases": p,
                "actual_per_customer": a / n,
                "predicted_per_customer": p / n,
                "error_pct": _pct(p, a),
                "mean_abs_error_per_customer": float(np.abs(predicted[mask] - actual[mask]).mean()),
                "actual_holdout_revenue": ar,
                "predicted_holdout_revenue": pr,
                "revenue_error_pct": _pct(pr, ar),
                "cutoff_at": cutoff,
                "as_of": as_of,
                "holdout_weeks": holdout_weeks,
                "calibration_weeks": calibration_weeks,
                "bgnbd_used": bool(fit["bgnbd_used"]),
                "gg_used": bool(fit["gg_used"]),
                "fit_status": str(fit["fit_status"]),
            }
        )
    return pl.DataFrame(rows, schema=BACKTEST_SCHEMA)
