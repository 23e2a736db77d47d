"""CLV calibration / holdout backtest (flows.clv.backtest), refitted on every `dbt build`.

Reads clv_backtest_summary (calibration inputs before the cut-off, actual holdout purchases after
it) and writes one row per calibration frequency bucket plus an "all" row: predicted against actual
repeat purchases and revenue in the holdout, with the error. DuckDB only, like clv_predictions
(Python models are excluded on PostgreSQL, flows/portability/dbt_postgres.py).
"""

from flows.clv.backtest import run_backtest


def model(dbt, session):
    import polars as pl

    dbt.config(materialized="table")
    summary = pl.from_arrow(dbt.ref("clv_backtest_summary").to_arrow_table())
    return run_backtest(summary).to_arrow()
