"""dbt transformation step: `dbt_build_flow` (Prefect, one dbt invocation, every node reported)
and plain `run_dbt`.

Exports are lazy so `from flows.transform.dbt import run_dbt` does not import Prefect (which reads
PREFECT_HOME at import time and costs a second).
"""

from __future__ import annotations

from typing import Any

__all__ = ["BuildSummary", "dbt_build_flow"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from flows.transform import build

        return getattr(build, name)
    raise AttributeError(name)
