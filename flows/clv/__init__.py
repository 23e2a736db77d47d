"""Predicted customer lifetime value: BG/NBD + Gamma-Gamma fitted by maximum likelihood.

`bgnbd` and `gamma_gamma` hold the two models (likelihoods, fitters, predictions, simulators);
`predict` combines them per customer with documented fallbacks. The dbt Python model
`dbt_project/models/marts/kpi/clv_predictions.py` calls `predict_clv` so one `dbt build` fits
and writes the predictions; `clv_model_params` keeps one row per fit.
"""

# Lazy re-exports (PEP 562). dbt runs the two Python models (clv_predictions, mart_clv_backtest) on
# parallel threads of one process; eager submodule imports here made the package's import lock part
# of a cycle, and one thread saw a partially initialised `flows.clv.predict` ("cannot import name
# 'ClvResult' ... circular import"). Importing a submodule now never re-enters this package's init.
from importlib import import_module
from typing import Any

_EXPORTS = {
    "BgNbdFit": "flows.clv.bgnbd",
    "BgNbdParams": "flows.clv.bgnbd",
    "ClvResult": "flows.clv.predict",
    "GammaGammaFit": "flows.clv.gamma_gamma",
    "GammaGammaParams": "flows.clv.gamma_gamma",
    "params_frame": "flows.clv.predict",
    "predict_clv": "flows.clv.predict",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'flows.clv' has no attribute {name!r}")
