"""Prefect wiring for ingest: one task per source, one flow for `lifecycle ingest`.

Thin on purpose: all logic lives in plain functions (`ingest.py`, `zendesk_api.py`) that tests
call directly. Sources run as tasks one after the other, each on its own DuckDB connection (the
first write connection to a new or outdated warehouse applies schema.sql: warehouse.connect).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from flows.settings import Settings
from flows.sources.ingest import SOURCES, ingest_files
from flows.sources.summary import IngestSummary, SourceSummary
from flows.warehouse import connect


@task(name="ingest-source", cache_policy=NONE, task_run_name="ingest-{source}")
def ingest_source_task(settings: Settings, source: str) -> SourceSummary:
    con = connect(settings)
    try:
        summary = ingest_files(con, settings, source)
    finally:
        con.close()
    get_run_logger().info(
        "%s: %d files, %d rows, %d duplicates, %d rejects",
        source,
        summary.files,
        summary.rows,
        summary.duplicates,
        summary.rejects,
    )
    return summary


@task(name="ingest-zendesk-api", cache_policy=NONE, retries=1, retry_delay_seconds=5)
def ingest_zendesk_api_task(settings: Settings) -> SourceSummary:
    """Retried once as a whole: pages already committed are not fetched again (stored cursor)."""
    from flows.sources.zendesk_api import ingest_api

    con = connect(settings)
    try:
        summary = ingest_api(settings, con)
    finally:
        con.close()
    get_run_logger().info("zendesk api: %d pages, %d rows", summary.files, summary.rows)
    return summary


@flow(name="ingest", log_prints=False)
def ingest_flow(
    settings: Settings, source: str = "all", api: bool = False, redact: bool = True
) -> IngestSummary:
    """Load new raw files (and, with api=True, Zendesk API pages) into raw.*.

    With `redact` (default) the privacy step follows the loads: new erasure requests are applied
    and any newly loaded record of an erased person is redacted at ingest (flows/privacy/erase.py).
    `lifecycle run` passes False and runs that step itself, as its own summary line.
    """
    sources = list(SOURCES) if source == "all" else [source]
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        from flows.errors import LifecycleError

        raise LifecycleError(f"unknown source {unknown[0]!r}", hint=f"use one of {', '.join(SOURCES)} or all")
    # One source after the other: each batch already uses every core inside DuckDB, and
    # concurrent sources shared one memory limit (two 512 MiB batches spilled to disk): measured
    # 3.5x slower at 10k persons than in sequence (DECISIONS.md "Ingest: transactions ...").
    summary = IngestSummary()
    for s in sources:
        summary.add(ingest_source_task(settings, s))
    # After the ticket files: both write raw.zendesk_*.
    if api and "tickets" in sources:
        tickets = summary.sources["tickets"]
        for r in ingest_zendesk_api_task(settings).results:
            tickets.add(r)
    if redact:
        from flows.privacy.erase import erasure_task

        erasure_task()(settings)
    return summary
