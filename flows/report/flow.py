"""Prefect wrapper for the report, so scheduled runs show it as a flow with a link artifact."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_link_artifact
from prefect.cache_policies import NO_CACHE

from flows.report.build import build_report
from flows.settings import Settings


@task(name="write-report", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)
def write_report(settings: Settings, source: Path | None = None) -> Path:
    """`source`: the warehouse file to read (the pipeline passes its own, a replay's copy)."""
    return build_report(settings, source=source)


@flow(name="report")
def report(settings: Settings) -> Path:
    path = write_report(settings)
    create_link_artifact(link=path.as_uri(), link_text="KPI report", key="lifecycle-report")
    return path
