"""Gamma-Gamma model of spend per transaction.

Fader and Hardie (2013), "The Gamma-Gamma Model of Monetary Value". A customer's transaction values
are Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers, so the mean spend of a customer is
shrunk from their own observed mean towards the population mean gamma*p/(q-1), more strongly the
fewer transactions we have seen. The model assumes spend is independent of purchase frequency.

It is fitted on customers with at least one repeat transaction (x > 0), using the mean value m_x of
those x repeat transactions (the first purchase is excluded, as for BG/NBD frequency).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from flows.clv.bgnbd import minimize_log_likelihood, names_at_bound

PARAM_NAMES = ("p", "q", "gamma")
# Log-parameter box; q and gamma grow together without bound when customers' mean spends do not
# vary beyond what their own transactions explain (see flows.clv.bgnbd.LOG_BOUNDS).
LOG_BOUNDS = ((-10.0, 10.0), (-10.0, 10.0), (-10.0, 25.0))


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float

    def as_array(self) -> NDArray[np.float64]:
        return np.array([self.p, self.q, self.gamma], dtype=float)

    @property
    def population_mean_spend(self) -> float:
        """E[M] = gamma * p / (q - 1); infinite (undefined) when q <= 1."""
        return self.gamma * self.p / (self.q - 1) if self.q > 1 else float("inf")


@dataclass(frozen=True)
class GammaGammaFit:
    params: GammaGammaParams
    log_likelihood: float
    converged: bool
    n_customers: int
    message: str
    at_bound: tuple[str, ...] = ()


def log_likelihood_terms(params: ArrayLike, x: ArrayLike, m_x: ArrayLike) -> NDArray[np.float64]:
    """Per-customer log density of the observed mean spend m_x given x transactions.

    f(m_x) = G(px+q) / (G(px) G(q)) * gamma^q * m_x^(px-1) * x^(px) / (gamma + m_x x)^(px+q)
    """
    p, q, gamma = np.asarray(params, dtype=float)
    x = np.asarray(x, dtype=float)
    m_x = np.asarray(m_x, dtype=float)
    px = p * x
    return (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m_x)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m_x * x)
    )


def negative_log_likelihood(log_params: NDArray[np.float64], x: NDArray, m_x: NDArray) -> float:
    value = -float(np.sum(log_likelihood_terms(np.exp(log_params), x, m_x)))
    return value if np.isfinite(value) else 1e300


def negative_log_likelihood_and_gradient(
    log_params: NDArray[np.float64], x: NDArray, m_x: NDArray
) -> tuple[float, NDArray[np.float64]]:
    """Negative log-likelihood and its exact gradient in log-parameters:
      d/dp     = x (psi(px+q) - psi(px) + log(m_x) + log(x) - log(gamma + m_x x))
      d/dq     = psi(px+q) - psi(q) + log(gamma) - log(gamma + m_x x)
      d/dgamma = q/gamma - (px+q)/(gamma + m_x x)
    and d/d(log theta) = theta * d/d(theta).
    """
    p, q, gamma = np.exp(log_params)
    px = p * x
    with np.errstate(all="ignore"):
        log_scale = np.log(gamma + m_x * x)
        log_m = np.log(m_x)
        log_x = np.log(x)
        ll = (
            special.gammaln(px + q)
            - special.gammaln(px)
            - special.gammaln(q)
            + q * np.log(gamma)
            + (px - 1) * log_m
            + px * log_x
            - (px + q) * log_scale
        )
        psi_pq = special.digamma(px + q)
        d_p = x * (psi_pq - special.digamma(px) + log_m + log_x - log_scale)
        d_q = psi_pq - special.digamma(q) + np.log(gamma) - log_scale
        d_gamma = q / gamma - (px + q) / (gamma + m_x * x)
        value = -float(np.sum(ll))
        gradient = -np.array([p * np.sum(d_p), q * np.sum(d_q), gamma * np.sum(d_gamma)])
    if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
        return 1e300, np.zeros(3)
    return value, gradient


def fit(x: ArrayLike, m_x: ArrayLike, initial: GammaGammaParams | None = None) -> GammaGammaFit:
    """Maximum-likelihood fit on customers with x > 0 and m_x > 0 (raises ValueError otherwise)."""
    x_arr = np.asarray(x, dtype=float)
    m_arr = np.asarray(m_x, dtype=float)
    if x_arr.size == 0:
        raise ValueError("Gamma-Gamma needs at least one repeat customer")
    if np.any(x_arr <= 0) or np.any(m_arr <= 0) or np.any(~np.isfinite(m_arr)):
        raise ValueError("Gamma-Gamma inputs need x > 0 and a positive, finite mean spend")
    # Start near the method-of-moments answer: spend scale ~ mean of m_x.
    start = (initial or GammaGammaParams(2.0, 3.0, float(np.mean(m_arr)))).as_array()
    result = minimize_log_likelihood(
        negative_log_likelihood_and_gradient, np.log(start), (x_arr, m_arr), LOG_BOUNDS
    )
    ll = -float(result.fun)
    return GammaGammaFit(
        params=GammaGammaParams(*np.exp(result.x)),
        log_likelihood=ll,
        converged=bool(result.success) and np.isfinite(ll) and result.fun < 1e300,
        n_customers=int(x_arr.size),
        message=str(result.message),
        at_bound=names_at_bound(result.x, LOG_BOUNDS, PARAM_NAMES),
    )


def conditional_expected_spend(params: GammaGammaParams, x: ArrayLike, m_x: ArrayLike) -> NDArray:
    """E[M | x, m_x] = (gamma + m_x x) p / (p x + q - 1), Fader and Hardie (2013) equation (5).

    For x = 0 this is exactly the population mean gamma*p/(q-1): a customer with no repeat spend
    gets the average customer's spend, which is the model's own answer for "no history".
    """
    p, q, gamma = params.as_array()
    x_arr = np.asarray(x, dtype=float)
    m_arr = np.where(x_arr > 0, np.asarray(m_x, dtype=float), 0.0)
    m_arr = np.nan_to_num(m_arr, nan=0.0)
    with np.errstate(all="ignore"):
        return (gamma + m_arr * x_arr) * p / (p * x_arr + q - 1)


def simulate(params: GammaGammaParams, x: ArrayLike, rng: np.random.Generator) -> NDArray[np.float64]:
    """Draw each customer's mean spend over x transactions (x >= 1) from the generative story."""
    x_arr = np.asarray(x, dtype=float)
    nu = rng.gamma(shape=params.q, scale=1.0 / params.gamma, size=x_arr.size)
    # The sum of x iid Gamma(p, nu) values is Gamma(p*x, nu); its mean divides by x.
    total = rng.gamma(shape=params.p * x_arr, scale=1.0 / nu)
    return total / x_arr
