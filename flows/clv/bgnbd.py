"""BG/NBD ("beta-geometric / negative binomial") model of repeat purchasing.

Fader, Hardie and Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the Pareto/NBD
Model", Marketing Science 24(2). Each customer buys at a Poisson rate lambda ~ Gamma(r, alpha) while
alive, and after every repeat purchase drops out with probability p ~ Beta(a, b).

Per customer the model needs only (x, t_x, T): x = repeat purchases (the first purchase is excluded),
t_x = time of the last purchase and T = age, both measured from the first purchase, in weeks.

Everything is vectorised over customers with numpy/scipy; the parameters are fitted by maximum
likelihood on log-parameters so the optimiser is unconstrained and never proposes a negative value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

PARAM_NAMES = ("r", "alpha", "a", "b")
# Search box for the log-parameters. Data with (almost) no heterogeneity in drop-out push a and b
# towards infinity (a fixed drop-out probability a / (a + b)); the box stops them at e^10, where
# the model is numerically the limiting one, and the fit records which parameters hit the box.
LOG_BOUNDS = ((-10.0, 10.0),) * 4


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float

    def as_array(self) -> NDArray[np.float64]:
        return np.array([self.r, self.alpha, self.a, self.b], dtype=float)


@dataclass(frozen=True)
class BgNbdFit:
    params: BgNbdParams
    log_likelihood: float
    converged: bool
    n_customers: int
    message: str
    at_bound: tuple[str, ...] = ()


def names_at_bound(
    log_params: NDArray[np.float64], bounds: tuple[tuple[float, float], ...], names: tuple[str, ...]
) -> tuple[str, ...]:
    pairs = zip(names, log_params, bounds, strict=True)
    return tuple(n for n, v, (lo, hi) in pairs if v <= lo + 1e-3 or v >= hi - 1e-3)


def _arrays(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
    return (
        np.asarray(x, dtype=float),
        np.asarray(t_x, dtype=float),
        np.asarray(T, dtype=float),
    )


def log_likelihood_terms(
    params: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> NDArray[np.float64]:
    """Per-customer log-likelihood, FHL (2005) equation (6), evaluated in log space.

    L = B(a, b+x)/B(a, b) * G(r+x) a^r / (G(r) (alpha+T)^(r+x))
        + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x))
    """
    r, alpha, a, b = np.asarray(params, dtype=float)
    x, t_x, T = _arrays(x, t_x, T)
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    # Beta-function ratio B(a, b+x)/B(a, b) written with gamma functions.
    beta_ratio = (
        special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    )
    alive_term = -(r + x) * np.log(alpha + T)
    # B(a+1, b+x-1)/B(a, b+x) = a / (b+x-1); only defined (and only used) when x > 0.
    has_repeat = x > 0
    safe_bx = np.where(has_repeat, b + x - 1, 1.0)
    dead_term = np.where(
        has_repeat,
        np.log(a) - np.log(safe_bx) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return common + beta_ratio + np.logaddexp(alive_term, dead_term)


def negative_log_likelihood(
    log_params: NDArray[np.float64], x: NDArray, t_x: NDArray, T: NDArray, weights: NDArray
) -> float:
    ll = log_likelihood_terms(np.exp(log_params), x, t_x, T)
    value = -float(np.dot(weights, ll))
    # The optimiser must see a number, not NaN, when it wanders into an overflow region.
    return value if np.isfinite(value) else 1e300


def negative_log_likelihood_and_gradient(
    log_params: NDArray[np.float64], x: NDArray, t_x: NDArray, T: NDArray, weights: NDArray
) -> tuple[float, NDArray[np.float64]]:
    """Weighted negative log-likelihood and its exact gradient in log-parameters.

    With L = e^A + e^D (the alive and dead terms of `log_likelihood_terms`), the shares
    w_A = e^(A - log L) and w_D = e^(D - log L) give, per customer:
      d/dr     = psi(r+x) - psi(r) + log(alpha) - w_A log(alpha+T) - w_D log(alpha+t_x)
      d/dalpha = r/alpha - (r+x) (w_A/(alpha+T) + w_D/(alpha+t_x))
      d/da     = psi(a+b) - psi(a+b+x) + w_D/a
      d/db     = psi(a+b) - psi(a+b+x) + psi(b+x) - psi(b) - w_D/(b+x-1)
    and d/d(log theta) = theta * d/d(theta). One evaluation costs about what the likelihood alone
    costs, where a finite-difference gradient costs five likelihoods and is less accurate.
    """
    r, alpha, a, b = np.exp(log_params)
    has_repeat = x > 0
    safe_bx = np.where(has_repeat, b + x - 1, 1.0)
    log_alpha_T = np.log(alpha + T)
    log_alpha_tx = np.log(alpha + t_x)
    with np.errstate(all="ignore"):
        alive_term = -(r + x) * log_alpha_T
        dead_term = np.where(has_repeat, np.log(a) - np.log(safe_bx) - (r + x) * log_alpha_tx, -np.inf)
        log_l = np.logaddexp(alive_term, dead_term)
        w_alive = np.exp(alive_term - log_l)
        w_dead = np.exp(dead_term - log_l)
        ll = (
            special.gammaln(r + x)
            - special.gammaln(r)
            + r * np.log(alpha)
            + special.gammaln(a + b)
            + special.gammaln(b + x)
            - special.gammaln(b)
            - special.gammaln(a + b + x)
            + log_l
        )
        d_r = (
            special.digamma(r + x)
            - special.digamma(r)
            + np.log(alpha)
            - w_alive * log_alpha_T
            - w_dead * log_alpha_tx
        )
        d_alpha = r / alpha - (r + x) * (w_alive / (alpha + T) + w_dead / (alpha + t_x))
        d_ab = special.digamma(a + b) - special.digamma(a + b + x)
        d_a = d_ab + w_dead / a
        d_b = d_ab + special.digamma(b + x) - special.digamma(b) - w_dead / safe_bx
        value = -float(np.dot(weights, ll))
        gradient = -np.array(
            [
                r * np.dot(weights, d_r),
                alpha * np.dot(weights, d_alpha),
                a * np.dot(weights, d_a),
                b * np.dot(weights, d_b),
            ]
        )
    if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
        # An overflow region: a huge value with no slope makes the line search back off.
        return 1e300, np.zeros(4)
    return value, gradient


def _compress(x: NDArray, t_x: NDArray, T: NDArray) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Group identical (x, t_x, T) rows: many customers share them, so the fit costs less."""
    stacked = np.column_stack([x, t_x, T])
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return unique[:, 0], unique[:, 1], unique[:, 2], counts.astype(float)


# L-BFGS-B stopping rules. With the exact gradient the optimum is reached to (almost) machine
# precision in a few dozen evaluations: stop when f improves by less than ~1e-14 relative (1e-9 on
# a log-likelihood of 1e5) or the largest projected gradient component is below 1e-8.
FIT_OPTIONS = {"ftol": 1e-14, "gtol": 1e-8, "maxiter": 5000}


def minimize_log_likelihood(
    fun_and_grad: Callable[..., tuple[float, NDArray[np.float64]]],
    start: NDArray[np.float64],
    args: tuple[Any, ...],
    bounds: tuple[tuple[float, float], ...],
) -> optimize.OptimizeResult:
    """L-BFGS-B with an exact gradient and tight tolerances, in the log-parameter box.

    Near the optimum the tight `ftol` can be finer than the rounding of the likelihood, and the
    line search then stops with "ABNORMAL" before the test triggers: in that case the search is
    restarted once from where it stopped with scipy's default tolerances, which decide
    `success` (a real failure, e.g. overflow everywhere, still fails).
    """
    result = optimize.minimize(
        fun_and_grad, start, args=args, jac=True, method="L-BFGS-B", bounds=bounds, options=FIT_OPTIONS
    )
    if not result.success:
        result = optimize.minimize(
            fun_and_grad, result.x, args=args, jac=True, method="L-BFGS-B", bounds=bounds
        )
    return result


def fit(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    initial: BgNbdParams | None = None,
) -> BgNbdFit:
    """Maximum-likelihood fit. Raises ValueError on inputs the model cannot describe."""
    x_arr, tx_arr, T_arr = _arrays(x, t_x, T)
    if x_arr.size == 0:
        raise ValueError("BG/NBD needs at least one customer")
    if np.any(x_arr < 0) or np.any(tx_arr < 0) or np.any(T_arr < tx_arr) or np.any(~np.isfinite(T_arr)):
        raise ValueError("BG/NBD inputs need x >= 0 and 0 <= t_x <= T")
    ux, utx, uT, w = _compress(x_arr, tx_arr, T_arr)
    start = (initial or BgNbdParams(1.0, max(float(np.mean(T_arr)), 1.0), 1.0, 1.0)).as_array()
    result = minimize_log_likelihood(
        negative_log_likelihood_and_gradient, np.log(start), (ux, utx, uT, w), LOG_BOUNDS
    )
    params = BgNbdParams(*np.exp(result.x))
    ll = -float(result.fun)
    return BgNbdFit(
        params=params,
        log_likelihood=ll,
        converged=bool(result.success) and np.isfinite(ll) and result.fun < 1e300,
        n_customers=int(x_arr.size),
        message=str(result.message),
        at_bound=names_at_bound(result.x, LOG_BOUNDS, PARAM_NAMES),
    )


def log_alive_odds_against(params: BgNbdParams, x: NDArray, t_x: NDArray, T: NDArray) -> NDArray:
    """log of a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x); -inf for customers without repeats."""
    r, alpha, a, b = params.as_array()
    has_repeat = x > 0
    safe_bx = np.where(has_repeat, b + x - 1, 1.0)
    return np.where(
        has_repeat,
        np.log(a) - np.log(safe_bx) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)),
        -np.inf,
    )


def probability_alive(params: BgNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> NDArray:
    """P(still active | x, t_x, T), FHL (2005) equation (11); 1 for customers without repeats."""
    x_arr, tx_arr, T_arr = _arrays(x, t_x, T)
    return special.expit(-log_alive_odds_against(params, x_arr, tx_arr, T_arr))


def expected_purchases(
    params: BgNbdParams, t: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> NDArray[np.float64]:
    """E[purchases in the next t weeks | x, t_x, T], FHL (2005) equation (10).

    May return NaN/inf for extreme inputs (the Gauss hypergeometric function loses precision);
    callers must check `np.isfinite` and fall back (flows.clv.predict does).
    """
    r, alpha, a, b = params.as_array()
    x_arr, tx_arr, T_arr = _arrays(x, t_x, T)
    with np.errstate(all="ignore"):
        z = t / (alpha + T_arr + t)
        hyp = special.hyp2f1(r + x_arr, b + x_arr, a + b + x_arr - 1, z)
        ratio = np.exp((r + x_arr) * (np.log(alpha + T_arr) - np.log(alpha + T_arr + t)))
        numerator = (a + b + x_arr - 1) / (a - 1) * (1.0 - ratio * hyp)
        return numerator * special.expit(-log_alive_odds_against(params, x_arr, tx_arr, T_arr))


def expected_purchases_new_customer(params: BgNbdParams, t: float) -> float:
    """E[X(t)] for a customer just acquired, FHL (2005) equation (7)."""
    r, alpha, a, b = params.as_array()
    hyp = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return float((a + b - 1) / (a - 1) * (1.0 - (alpha / (alpha + t)) ** r * hyp))


def simulate(
    params: BgNbdParams, T: ArrayLike, rng: np.random.Generator, holdout: float = 0.0
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Draw (x, t_x, x_holdout) for customers observed for T weeks, from the BG/NBD story.

    x_holdout counts purchases in the `holdout` weeks after T, so tests can check predictions
    against what "happened". Used by the parameter-recovery test: simulate from known parameters,
    fit, compare. Vectorised over customers; the loop runs once per purchase "round".
    """
    T_arr = np.asarray(T, dtype=float)
    n = T_arr.size
    lam = rng.gamma(shape=params.r, scale=1.0 / params.alpha, size=n)
    p = rng.beta(params.a, params.b, size=n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    x_holdout = np.zeros(n)
    clock = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        clock[idx] += rng.exponential(1.0 / lam[idx])
        calibration = clock[idx] <= T_arr[idx]
        in_holdout = ~calibration & (clock[idx] <= T_arr[idx] + holdout)
        bought_cal = idx[calibration]
        x[bought_cal] += 1
        t_x[bought_cal] = clock[bought_cal]
        x_holdout[idx[in_holdout]] += 1
        bought = idx[calibration | in_holdout]
        # Customers past the horizon stop; buyers drop out with probability p after the purchase.
        active[idx[~(calibration | in_holdout)]] = False
        dropped = bought[rng.random(bought.size) < p[bought]]
        active[dropped] = False
    return x, t_x, x_holdout
