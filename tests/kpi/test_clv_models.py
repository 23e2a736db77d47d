"""The CLV fitter: published values, parameter recovery from simulated customers, and fallbacks."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import pytest

from flows.clv import bgnbd, predict_clv
from flows.clv import gamma_gamma as gg

# CDNOW estimates published in Fader, Hardie and Lee (2005), section 5.
CDNOW = bgnbd.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
TRUE_BG = bgnbd.BgNbdParams(r=0.75, alpha=5.0, a=0.8, b=3.0)
TRUE_GG = gg.GammaGammaParams(p=3.0, q=5.0, gamma=60.0)


def test_bgnbd_conditional_expectation_matches_published_example() -> None:
    # FHL (2005): a CDNOW customer with x=2, t_x=30.43, T=38.86 is expected to make 1.226
    # purchases in the next 39 weeks.
    value = bgnbd.expected_purchases(CDNOW, 39.0, [2], [30.43], [38.86])[0]
    assert value == pytest.approx(1.226, abs=5e-4)


def test_bgnbd_recovers_known_parameters() -> None:
    # 10,000 customers: over 20 seeds the worst relative error was 13% (b is the least identified).
    rng = np.random.default_rng(20261123)
    T = rng.uniform(26, 104, 10_000)
    x, t_x, _ = bgnbd.simulate(TRUE_BG, T, rng)
    fit = bgnbd.fit(x, t_x, T)
    assert fit.converged
    np.testing.assert_allclose(fit.params.as_array(), TRUE_BG.as_array(), rtol=0.15)
    # The optimum beats the truth on the sample (it is a maximum), and only slightly.
    ll_true = float(bgnbd.log_likelihood_terms(TRUE_BG.as_array(), x, t_x, T).sum())
    assert ll_true <= fit.log_likelihood < ll_true + 20


def test_gamma_gamma_recovers_known_parameters() -> None:
    # 20,000 repeat customers: p and gamma trade off along a flat ridge; worst over 20 seeds was 10%.
    rng = np.random.default_rng(7)
    x = rng.integers(1, 10, 20_000)
    m_x = gg.simulate(TRUE_GG, x, rng)
    fit = gg.fit(x, m_x)
    assert fit.converged
    np.testing.assert_allclose(fit.params.as_array(), TRUE_GG.as_array(), rtol=0.15)


def test_predicted_purchases_match_a_simulated_holdout_year() -> None:
    # Predictions from the true parameters must match what simulated customers then do.
    rng = np.random.default_rng(3)
    T = rng.uniform(10, 80, 20000)
    x, t_x, x_holdout = bgnbd.simulate(TRUE_BG, T, rng, holdout=52.0)
    predicted = bgnbd.expected_purchases(TRUE_BG, 52.0, x, t_x, T)
    assert predicted.sum() == pytest.approx(x_holdout.sum(), rel=0.05)
    for k in (0, 1, 3):
        group = x == k
        assert predicted[group].mean() == pytest.approx(x_holdout[group].mean(), rel=0.1)


def test_gamma_gamma_without_repeats_is_the_population_mean() -> None:
    spend = gg.conditional_expected_spend(TRUE_GG, [0, 1000], [np.nan, 30.0])
    assert spend[0] == pytest.approx(TRUE_GG.population_mean_spend)  # 60*3/4 = 45
    # Many transactions at 30 pull the estimate almost all the way to 30.
    assert spend[1] == pytest.approx(30.0, rel=0.01)


def _summary(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    T = rng.uniform(0, 80, n)
    x, t_x, _ = bgnbd.simulate(TRUE_BG, T, rng)
    repeat = np.where(x > 0, gg.simulate(TRUE_GG, np.maximum(x, 1), rng), np.nan)
    return pl.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(n)],
            "frequency": x,
            "recency_weeks": t_x,
            "tenure_weeks": T,
            "repeat_monetary_value": repeat,
            "avg_order_value": rng.gamma(6.0, 15.0, n),
        }
    ).with_columns(pl.col("repeat_monetary_value").fill_nan(None))


def test_predict_clv_uses_both_models_and_records_the_fit() -> None:
    result = predict_clv(_summary(2000), datetime(2026, 6, 1))
    preds = result.predictions
    assert result.fit["bgnbd_used"] and result.fit["gg_used"], result.fit["fit_status"]
    assert result.fit["n_customers"] == 2000
    assert preds.height == 2000
    assert preds["predicted_clv_12m"].null_count() == 0
    assert (preds["predicted_clv_12m"] >= 0).all()
    np.testing.assert_allclose(
        preds["predicted_clv_12m"].to_numpy(),
        (preds["expected_purchases_12m"] * preds["expected_spend_per_order"]).to_numpy(),
    )
    young = preds.filter(pl.col("tenure_weeks") < 4)
    assert young.height > 0
    assert set(young["purchases_method"]) == {"bgnbd_new_customer"}
    # Every young customer gets the same population-level expectation.
    assert young["expected_purchases_12m"].n_unique() == 1


def test_too_little_history_falls_back_without_crashing() -> None:
    summary = pl.DataFrame(
        {
            "person_id": ["a", "b", "c"],
            "frequency": [0.0, 2.0, 0.0],
            "recency_weeks": [0.0, 10.0, 0.0],
            "tenure_weeks": [5.0, 26.0, 104.0],
            "repeat_monetary_value": [None, 50.0, None],
            "avg_order_value": [40.0, 60.0, 20.0],
        }
    )
    result = predict_clv(summary, datetime(2026, 6, 1))
    assert not result.fit["bgnbd_used"] and not result.fit["gg_used"]
    assert "too little history" in result.fit["fit_status"]
    rows = {r["person_id"]: r for r in result.predictions.to_dicts()}
    # b: 2 repeats over 26 weeks, tenure floored at 52 -> 52 * 2 / 52 = 2 purchases x AOV 60 = 120.
    assert rows["b"]["expected_purchases_12m"] == pytest.approx(2.0)
    assert rows["b"]["predicted_clv_12m"] == pytest.approx(120.0)
    assert rows["a"]["predicted_clv_12m"] == 0.0
    assert rows["a"]["purchases_method"] == "observed_rate"
    assert rows["a"]["spend_method"] == "observed_aov"
    assert rows["a"]["prob_alive"] is None


def test_empty_summary_gives_empty_predictions() -> None:
    result = predict_clv(_summary(10).head(0), None)
    assert result.predictions.height == 0
    assert result.fit["n_customers"] == 0


def test_invalid_inputs_are_rejected_by_the_fitter() -> None:
    with pytest.raises(ValueError):
        bgnbd.fit([1], [5.0], [2.0])  # t_x > T
    with pytest.raises(ValueError):
        gg.fit([1], [0.0])
    with pytest.raises(ValueError, match="missing columns"):
        predict_clv(pl.DataFrame({"person_id": ["a"]}), None)


def test_homogeneous_dropout_uses_the_limiting_model() -> None:
    # Every customer drops out with p = 0.2 (a, b -> infinity): the fit stops at the search box
    # or on the flat ridge, is still used, and every prediction is finite.
    rng = np.random.default_rng(11)
    T = rng.uniform(10, 60, 3000)
    x, t_x, _ = bgnbd.simulate(bgnbd.BgNbdParams(r=0.8, alpha=6.0, a=2e5, b=8e5), T, rng)
    summary = pl.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(x.size)],
            "frequency": x,
            "recency_weeks": t_x,
            "tenure_weeks": T,
            "repeat_monetary_value": np.where(x > 0, 50.0 + rng.gamma(2.0, 5.0, x.size), np.nan),
            "avg_order_value": np.full(x.size, 55.0),
        }
    ).with_columns(pl.col("repeat_monetary_value").fill_nan(None))
    result = predict_clv(summary, datetime(2026, 6, 1))
    assert result.fit["bgnbd_used"], result.fit["fit_status"]
    fit = result.fit
    assert fit["a"] / (fit["a"] + fit["b"]) == pytest.approx(0.2, abs=0.05)
    assert result.predictions["expected_purchases_12m"].is_finite().all()
    assert result.predictions["predicted_clv_12m"].null_count() == 0
