"""Fixtures for the BI tests: the generated data set, built once, published once per session.

The published file comes from a real `dbt build` (the session's `built_warehouse`) through the real
publish step, so types, comments and Parquet are what a BI user would get. The warehouse is copied
first: publishing writes under the data dir, and `built_warehouse` is shared read-only.
"""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def bi_published(built_warehouse, tmp_path_factory):
    """Settings of a data dir whose `published/` was written by publish_marts from a real build."""
    from flows.publish import publish_marts
    from flows.settings import Settings

    s = Settings(data_dir=tmp_path_factory.mktemp("bi") / "data")
    s.root.mkdir(parents=True)
    shutil.copy(built_warehouse.warehouse_path, s.warehouse_path)
    publish_marts(s, run_id="bi-session")
    return s
