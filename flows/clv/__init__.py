"""Predicted customer lifetime value: BG/NBD + Gamma-Gamma fitted by maximum likelihood.

`bgnbd` and `gamma_gamma` hold the two models (likelihoods, fitters, predictions, simulators);
`predict` combines them per customer with documented fallbacks. The dbt Python model
`dbt_project/models/marts/kpi/clv_predictions.py` calls `predict_clv` so one `dbt build` fits
and writes the predictions; `clv_model_params` keeps one row per fit.
"""

from flows.clv.bgnbd import BgNbdFit, BgNbdParams
from flows.clv.gamma_gamma import GammaGammaFit, GammaGammaParams
from flows.clv.predict import ClvResult, params_frame, predict_clv

__all__ = [
    "BgNbdFit",
    "BgNbdParams",
    "ClvResult",
    "GammaGammaFit",
    "GammaGammaParams",
    "params_frame",
    "predict_clv",
]
