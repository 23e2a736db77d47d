"""Predicted 12-month CLV per customer: BG/NBD expected purchases x Gamma-Gamma expected spend.

Input is one row per customer (built set-based in SQL by the dbt model `clv_customer_summary`):
person_id, frequency (x, repeat orders), recency_weeks (t_x), tenure_weeks (T), repeat_monetary_value
(m_x, mean net revenue of the repeat orders, NULL when x = 0) and avg_order_value (all orders).

Fallbacks, so a thin or odd data set never crashes a build (documented in DECISIONS.md, "CLV"):
- The models are only trusted with enough data: BG/NBD needs `min_customers` customers of which
  `min_repeat_customers` bought again; Gamma-Gamma needs `min_repeat_customers` repeat customers with
  positive spend. The fit must converge with finite parameters, and for Gamma-Gamma q > 1
  (otherwise the mean spend is infinite). A parameter stopped at the search box (e.g. a and b when
  every customer has the same drop-out probability) is the limiting model and is used; fit_status
  names it.
- Customers without a repeat purchase (x = 0) are no special case: BG/NBD predicts for them from the
  population and their age, and Gamma-Gamma gives them the population mean spend.
- Customers with too little history, first order less than `min_tenure_weeks` (4) before as_of, get
  the population's expectation for a newly acquired customer, E[X(52)] (FHL 2005 equation 7),
  instead of the conditional one: one quick second order in a customer's first days would otherwise
  be extrapolated into a high yearly rate. `purchases_method` says 'bgnbd_new_customer' then.
- If BG/NBD is unusable (or its prediction is not finite for one customer), expected purchases
  fall back to the observed repeat rate, 52 * x / max(T, 52): tenure is floored at one year so a
  customer two weeks old with one repeat order is not extrapolated to 26 orders a year.
  `purchases_method` says 'observed_rate' then.
- If Gamma-Gamma is unusable, expected spend falls back to the customer's own average order value;
  `spend_method` says 'observed_aov' then.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from flows.clv import bgnbd
from flows.clv import gamma_gamma as gg

HORIZON_WEEKS = 52.0
MIN_CUSTOMERS = 20
MIN_REPEAT_CUSTOMERS = 10
MIN_TENURE_WEEKS = 4.0

SUMMARY_COLUMNS = (
    "person_id",
    "frequency",
    "recency_weeks",
    "tenure_weeks",
    "repeat_monetary_value",
    "avg_order_value",
)

# Column order of the fit record (the `clv_model_params` table).
PARAM_COLUMNS = (
    "fit_id",
    "fitted_at",
    "as_of",
    "horizon_weeks",
    "min_tenure_weeks",
    "n_customers",
    "n_repeat_customers",
    "log_likelihood",
    "r",
    "alpha",
    "a",
    "b",
    "bgnbd_converged",
    "bgnbd_used",
    "gg_n_customers",
    "gg_log_likelihood",
    "p",
    "q",
    "gamma",
    "gg_converged",
    "gg_used",
    "fit_status",
)


@dataclass
class ClvResult:
    predictions: pl.DataFrame
    fit: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _bgnbd_usable(fit: bgnbd.BgNbdFit | None) -> bool:
    if fit is None or not fit.converged:
        return False
    values = fit.params.as_array()
    return bool(np.all(np.isfinite(values)) and abs(fit.params.a - 1.0) > 1e-6)


def _gg_usable(fit: gg.GammaGammaFit | None) -> bool:
    if fit is None or not fit.converged:
        return False
    values = fit.params.as_array()
    return bool(np.all(np.isfinite(values)) and fit.params.q > 1.0)


def _fit_bgnbd(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, min_customers: int, min_repeat: int, notes: list[str]
) -> bgnbd.BgNbdFit | None:
    n_repeat = int(np.sum(x > 0))
    if x.size < min_customers or n_repeat < min_repeat:
        notes.append(
            f"bgnbd: too little history ({x.size} customers, {n_repeat} repeat; "
            f"need {min_customers} and {min_repeat})"
        )
        return None
    try:
        fit = bgnbd.fit(x, t_x, T)
    except (ValueError, FloatingPointError) as exc:
        notes.append(f"bgnbd: {exc}")
        return None
    if not _bgnbd_usable(fit):
        notes.append(f"bgnbd: fit not usable ({fit.message}; params {fit.params})")
    elif fit.at_bound:
        notes.append(f"bgnbd: {', '.join(fit.at_bound)} at the search bound (limiting model used)")
    return fit


def _fit_gg(x: np.ndarray, m_x: np.ndarray, min_repeat: int, notes: list[str]) -> gg.GammaGammaFit | None:
    eligible = (x > 0) & np.isfinite(m_x) & (m_x > 0)
    if int(eligible.sum()) < min_repeat:
        notes.append(
            f"gamma_gamma: too few repeat customers with spend ({int(eligible.sum())} < {min_repeat})"
        )
        return None
    try:
        fit = gg.fit(x[eligible], m_x[eligible])
    except (ValueError, FloatingPointError) as exc:
        notes.append(f"gamma_gamma: {exc}")
        return None
    if not _gg_usable(fit):
        notes.append(f"gamma_gamma: fit not usable ({fit.message}; params {fit.params})")
    elif fit.at_bound:
        notes.append(f"gamma_gamma: {', '.join(fit.at_bound)} at the search bound (limiting model used)")
    return fit


def _as_float(column: pl.Series) -> np.ndarray:
    return column.cast(pl.Float64).fill_null(np.nan).to_numpy()


def predict_clv(
    summary: pl.DataFrame,
    as_of: datetime | None,
    *,
    horizon_weeks: float = HORIZON_WEEKS,
    min_customers: int = MIN_CUSTOMERS,
    min_repeat_customers: int = MIN_REPEAT_CUSTOMERS,
    min_tenure_weeks: float = MIN_TENURE_WEEKS,
    fitted_at: datetime | None = None,
) -> ClvResult:
    """Fit both models on `summary` and predict each customer's value over `horizon_weeks`."""
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        raise ValueError(f"CLV summary is missing columns: {', '.join(missing)}")
    fitted_at = fitted_at or datetime.now(UTC).replace(tzinfo=None)
    notes: list[str] = []

    x = _as_float(summary["frequency"])
    t_x = _as_float(summary["recency_weeks"])
    tenure = _as_float(summary["tenure_weeks"])
    m_x = _as_float(summary["repeat_monetary_value"])
    aov = _as_float(summary["avg_order_value"])

    bg_fit = _fit_bgnbd(x, t_x, tenure, min_customers, min_repeat_customers, notes)
    gg_fit = _fit_gg(x, m_x, min_repeat_customers, notes)
    bg_ok = _bgnbd_usable(bg_fit)
    gg_ok = _gg_usable(gg_fit)

    observed_rate = np.where(x > 0, horizon_weeks * x / np.maximum(tenure, horizon_weeks), 0.0)
    if bg_ok:
        assert bg_fit is not None
        purchases = bgnbd.expected_purchases(bg_fit.params, horizon_weeks, x, t_x, tenure)
        alive = bgnbd.probability_alive(bg_fit.params, x, t_x, tenure)
        model_ok = np.isfinite(purchases) & (purchases >= 0)
        if not model_ok.all():
            notes.append(f"bgnbd: {int((~model_ok).sum())} customers with non-finite predictions")
        young = tenure < min_tenure_weeks
        new_customer = bgnbd.expected_purchases_new_customer(bg_fit.params, horizon_weeks)
        purchases = np.where(young, new_customer, purchases)
        purchases = np.where(model_ok, purchases, observed_rate)
        alive = np.where(model_ok, alive, np.nan)
        purchases_method = np.where(model_ok, np.where(young, "bgnbd_new_customer", "bgnbd"), "observed_rate")
    else:
        purchases = observed_rate
        alive = np.full(x.size, np.nan)
        purchases_method = np.full(x.size, "observed_rate")

    if gg_ok:
        assert gg_fit is not None
        spend = gg.conditional_expected_spend(gg_fit.params, x, m_x)
        spend_ok = np.isfinite(spend) & (spend > 0)
        spend = np.where(spend_ok, spend, aov)
        spend_method = np.where(spend_ok, "gamma_gamma", "observed_aov")
    else:
        spend = aov
        spend_method = np.full(x.size, "observed_aov")

    fit_record: dict[str, Any] = {
        "fit_id": uuid.uuid4().hex,
        "fitted_at": fitted_at,
        "as_of": as_of,
        "horizon_weeks": float(horizon_weeks),
        "min_tenure_weeks": float(min_tenure_weeks),
        "n_customers": int(x.size),
        "n_repeat_customers": int(np.sum(x > 0)),
        "log_likelihood": bg_fit.log_likelihood if bg_fit else None,
        "r": bg_fit.params.r if bg_fit else None,
        "alpha": bg_fit.params.alpha if bg_fit else None,
        "a": bg_fit.params.a if bg_fit else None,
        "b": bg_fit.params.b if bg_fit else None,
        "bgnbd_converged": bg_fit.converged if bg_fit else False,
        "bgnbd_used": bg_ok,
        "gg_n_customers": gg_fit.n_customers if gg_fit else 0,
        "gg_log_likelihood": gg_fit.log_likelihood if gg_fit else None,
        "p": gg_fit.params.p if gg_fit else None,
        "q": gg_fit.params.q if gg_fit else None,
        "gamma": gg_fit.params.gamma if gg_fit else None,
        "gg_converged": gg_fit.converged if gg_fit else False,
        "gg_used": gg_ok,
        "fit_status": "ok" if not notes else "; ".join(notes),
    }

    predictions = pl.DataFrame(
        {
            "person_id": summary["person_id"].cast(pl.Utf8),
            "frequency": x,
            "recency_weeks": t_x,
            "tenure_weeks": tenure,
            "repeat_monetary_value": m_x,
            "prob_alive": alive,
            "expected_purchases_12m": purchases,
            "expected_spend_per_order": spend,
            "predicted_clv_12m": purchases * spend,
            "purchases_method": purchases_method,
            "spend_method": spend_method,
        }
    ).with_columns(
        # NaN is a float artefact; SQL readers expect NULL for "unknown".
        pl.col(pl.Float64).fill_nan(None)
    )
    return ClvResult(predictions=predictions, fit=fit_record, notes=notes)


def params_frame(fit: dict[str, Any]) -> pl.DataFrame:
    """The fit record as a one-row frame with stable column types (even when a model was skipped)."""
    schema = {
        "fit_id": pl.Utf8,
        "fitted_at": pl.Datetime("us"),
        "as_of": pl.Datetime("us"),
        "horizon_weeks": pl.Float64,
        "min_tenure_weeks": pl.Float64,
        "n_customers": pl.Int64,
        "n_repeat_customers": pl.Int64,
        "log_likelihood": pl.Float64,
        "r": pl.Float64,
        "alpha": pl.Float64,
        "a": pl.Float64,
        "b": pl.Float64,
        "bgnbd_converged": pl.Boolean,
        "bgnbd_used": pl.Boolean,
        "gg_n_customers": pl.Int64,
        "gg_log_likelihood": pl.Float64,
        "p": pl.Float64,
        "q": pl.Float64,
        "gamma": pl.Float64,
        "gg_converged": pl.Boolean,
        "gg_used": pl.Boolean,
        "fit_status": pl.Utf8,
    }
    return pl.DataFrame([{k: fit.get(k) for k in PARAM_COLUMNS}], schema=schema)
