"""Fixtures for operations tests: a small warehouse with the core marts, made by set-based SQL.

Why not the generated data set: publish, report and run-guard behaviour only needs tables with
the documented mart columns (docs/architecture.md); building them directly in DuckDB keeps these
tests at a second each. The full generated pipeline is covered in tests/e2e.
"""

from __future__ import annotations

import pytest

from tests.ops.marts_fixture import make_marts_warehouse


@pytest.fixture
def marts_settings(settings):
    """Settings whose warehouse already holds the core marts."""
    make_marts_warehouse(settings.warehouse_path)
    return settings
