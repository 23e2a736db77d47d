"""The published file opens in the DuckDB versions BI drivers bundle (SPEC 9, issue 17 item 1).

Set-up installs duckdb 1.1.3 and 1.5.6 from PyPI into cached virtualenvs (old_clients.py); each opens
`published/marts.duckdb` read-only in its own process, like a BI tool would, runs README's BI
queries, and must get exactly what DuckDB 2.0 gets.
"""

from __future__ import annotations

import sys

import pytest

from tests.bi.clients import readme_bi_queries, run_client
from tests.bi.old_clients import CLIENT_VERSIONS, ensure_client


@pytest.fixture(scope="module")
def current(bi_published, tmp_path_factory):
    """What the project's own DuckDB (2.0) returns for README's queries."""
    queries = readme_bi_queries()
    assert len(queries) >= 2, "README's BI section should show its queries in ```sql blocks"
    return run_client(sys.executable, bi_published.published_path, queries, tmp_path_factory.mktemp("q"))


@pytest.mark.parametrize("version", CLIENT_VERSIONS)
def test_old_client_opens_published_file_and_gets_the_same_answers(
    version, bi_published, current, tmp_path
) -> None:
    python = ensure_client(version)
    got = run_client(python, bi_published.published_path, readme_bi_queries(), tmp_path)
    assert got["version"] == version
    assert current["version"].startswith("2.")
    assert got["results"] == current["results"]
    assert any(rows for rows in got["results"]), "README's queries return nothing on the demo data"
    # Same tables, columns, types and comments as 2.0 sees.
    assert got["tables"] == current["tables"]
    assert got["columns"] == current["columns"]
