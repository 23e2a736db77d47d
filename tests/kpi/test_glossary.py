"""The metric glossary is generated from the dbt docs (column meta.metric + description)."""

from __future__ import annotations

import json

import pytest

from flows.glossary import glossary_from_manifest, render_markdown


def test_glossary_reads_metric_columns_only() -> None:
    manifest = {
        "nodes": {
            "model.lifecycle.mart_x": {
                "resource_type": "model",
                "name": "mart_x",
                "schema": "marts",
                "meta": {"grain": "month"},
                "columns": {
                    "open_rate": {
                        "name": "open_rate",
                        "description": "unique opens /\n  delivered.",
                        "meta": {"metric": "open rate"},
                    },
                    "month": {"name": "month", "description": "Month.", "meta": {}},
                },
            },
            "test.lifecycle.t": {"resource_type": "test", "name": "t", "columns": {}},
        }
    }
    entries = glossary_from_manifest(manifest)
    assert entries == [
        {
            "name": "open rate",
            "definition": "unique opens / delivered.",
            "grain": "month",  # the model's grain when the column has none
            "mart": "marts.mart_x",
            "column": "open_rate",
        }
    ]
    row = "| open rate | unique opens / delivered. | month | `marts.mart_x` | `open_rate` |"
    assert row in render_markdown(entries)


@pytest.mark.slow
def test_glossary_covers_every_spec_kpi(kpi_warehouse) -> None:
    from flows.glossary import build_glossary, write_glossary

    entries = build_glossary(kpi_warehouse)
    names = {e["name"] for e in entries}
    spec_kpis = {
        "visitors", "new leads", "new customers", "lead-to-customer rate", "median days to convert",
        "CAC", "net revenue", "AOV", "new revenue", "returning revenue", "historical CLV",
        "predicted 12-month CLV", "cohort retention", "repeat purchase rate", "monthly churn rate",
        "delivery rate", "open rate", "click rate", "click-to-open rate", "bounce rate", "unsubscribe rate",
        "spam rate", "email-attributed orders", "tickets created", "tickets solved",
        "median first reply time", "p90 first reply time", "median full resolution time",
        "p90 full resolution time", "SLA breach rate",
        "backlog", "CSAT", "one-touch resolution rate", "recency", "frequency", "monetary", "RFM segment",
        "first-touch attributed revenue", "last-touch attributed revenue",
    }  # fmt: skip
    assert spec_kpis <= names, spec_kpis - names
    open_rates = {e["mart"]: e for e in entries if e["name"] == "open rate"}
    assert open_rates["marts.mart_email_monthly"]["grain"] == "month x campaign"
    assert open_rates["marts.mart_email_monthly"]["definition"] == "unique_opens / delivered."
    assert all(e["definition"] and e["grain"] for e in entries)

    path = write_glossary(kpi_warehouse)
    assert path == kpi_warehouse.reports_dir / "glossary.md"
    assert "| CAC |" in path.read_text()
    data = json.loads((kpi_warehouse.reports_dir / "glossary.json").read_text())
    assert data == entries


def test_lookalike_numbers_are_explained_for_the_report() -> None:
    """Numbers a reader would confuse (leads ever against the acquisition stage) each get a note."""
    from flows.glossary import LOOKALIKES

    names = [name for name, _ in LOOKALIKES]
    assert "Leads (ever) vs the acquisition stage" in names
    assert len(set(names)) == len(names)
    assert all(len(text) > 40 for _, text in LOOKALIKES)
