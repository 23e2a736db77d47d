"""The KPI report: `build_report` (plain) and `report_flow` (Prefect), lazily imported."""

from __future__ import annotations

from pathlib import Path

from flows.settings import Settings

__all__ = ["build_report", "report_flow"]


def build_report(settings: Settings, source: Path | None = None) -> Path:
    from flows.report.build import build_report as _build

    return _build(settings, source=source)


def report_flow(settings: Settings) -> Path:
    """`lifecycle report` as a Prefect flow run (visible in the UI, with a link artifact)."""
    from flows.report.flow import report

    return report(settings)
