"""Prefect wiring of `lifecycle sync` (SPEC section 8): the logic is `flows.activation.sync.run_sync`.

The flow only makes the audience computation and each (segment, destination) a task, so each shows
in the Prefect UI with its own state and logs. The names below are re-exported for callers that
import them from here.
"""

from __future__ import annotations

from typing import Any

import duckdb
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.activation.config import DestinationConfig, SegmentConfig
from flows.activation.credentials import channel_credentials, skip_reason
from flows.activation.sync import (
    COLUMNS,
    OK_STATUSES,
    SyncSummary,
    build_export,
    compute_selected,
    destination_left_out,
    run_sync,
    sync_destination,
)
from flows.settings import Settings

__all__ = [
    "COLUMNS",
    "OK_STATUSES",
    "SyncSummary",
    "build_export",
    "channel_credentials",
    "destination_left_out",
    "skip_reason",
    "sync_destination",
    "sync_flow",
]


# The steps are the plain functions of sync.py, declared once; here they only become tasks.
compute_audiences_task = task(name="compute-audiences", cache_policy=NO_CACHE)(compute_selected)
sync_destination_task = task(name="sync-destination", cache_policy=NO_CACHE)(sync_destination)


def _deliver_task(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    dest: DestinationConfig,
    seg: SegmentConfig,
    *args: Any,
    **kwargs: Any,
) -> dict[str, Any]:
    named = sync_destination_task.with_options(task_run_name=f"sync-{seg.name}-{dest.name}")
    return named(settings, con, dest, seg, *args, **kwargs)


@flow(name="sync", validate_parameters=False)
def sync_flow(settings: Settings, segments: list[str] | None = None, dry_run: bool = False) -> SyncSummary:
    """Compute every selected segment and push it to its destinations (SPEC section 8)."""
    return run_sync(
        settings,
        segments,
        dry_run,
        logger=get_run_logger(),
        compute=compute_audiences_task,
        deliver=_deliver_task,
    )
