"""Predicted 12-month CLV per customer: fits BG/NBD + Gamma-Gamma (flows.clv) during `dbt build`.

Reads clv_customer_summary, fits both models by maximum likelihood, and returns one row per
customer with the fit's parameters repeated on every row (clv_model_params keeps one row per fit
from them). Fallbacks for thin data are documented in flows/clv/predict.py; they never raise.
"""

import polars as pl

from flows.clv.predict import params_frame, predict_clv


def model(dbt, session):
    dbt.config(materialized="table")
    # Sorted: the fit's likelihood sums in row order, so the same customers stored in another order
    # gave a slightly different fit from build to build; sorted, the same data gives the same fit.
    summary = pl.from_arrow(dbt.ref("clv_customer_summary").to_arrow_table()).sort("person_id")
    as_of = summary["as_of"].max() if summary.height else None
    result = predict_clv(summary, as_of)
    params = params_frame(result.fit)
    return result.predictions.join(params, how="cross").to_arrow()
