"""Shared pytest fixtures.

Environment is prepared before anything imports Prefect: telemetry off and PREFECT_HOME inside a
session temp dir. Flow tests use the one session-scoped `prefect_harness` (never autouse); logic
is unit-tested as plain functions without it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="lifecycle-tests-"))
# Each test process (the controller and every xdist worker) made one: none is left behind in /tmp.
atexit.register(shutil.rmtree, _SESSION_HOME, ignore_errors=True)
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "60")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ["PREFECT_HOME"] = str(_SESSION_HOME / ".prefect")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

SAMPLES_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "samples"


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the whole session (starting one costs ~10 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """One persistent `prefect server start` per test process, for tests that run `lifecycle` commands
    as subprocesses (`prefect_server.env()`): a scheduled user has one server, and each temporary one
    cost 10-20 s per command (tests/prefect_server.py)."""
    from tests.prefect_server import persistent_server

    with persistent_server(tmp_path_factory.mktemp("prefect-server")) as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path):
    """Settings for a fresh, empty data dir, with the process environment pointed at it."""
    from flows.settings import Settings, configure_environment

    s = Settings(data_dir=tmp_path / "data")
    configure_environment(s)
    return s


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    if not SAMPLES_DIR.is_dir():
        pytest.skip("../shared/samples not present")
    return SAMPLES_DIR


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory):
    """A small generated data set, ingested and built with dbt once per session.

    Plain functions only (no Prefect): generate -> ingest -> dbt build. Tests that need marts
    read from it; they must not write to it (copy it first if they do).
    """
    from flows.generate import generate
    from flows.settings import Settings, configure_environment
    from flows.sources.ingest import ingest_all
    from flows.transform.dbt import run_dbt

    s = Settings(data_dir=tmp_path_factory.mktemp("built") / "data")
    configure_environment(s)
    generate(s.raw_dir, customers=600, days=300, seed=7, start=None, dirty_rate=0.02)
    ingest_all(s)
    run_dbt(s, ["build"])
    return s


# The longest test files (pytest --durations on a fresh clone), started first: `make test` gives whole
# files to its two processes (--dist loadfile) in collection order, and a long file started last
# leaves the other process idle while it finishes.
LONGEST_FIRST = (
    "tests/privacy/test_erasure_e2e.py",
    "tests/e2e/test_lifecycle_run.py",
    "tests/ops/test_serve.py",
    "tests/spark/test_spark_parity.py",
    "tests/test_lint.py",
    "tests/e2e/test_quarantine_unblocks.py",
    "tests/holdouts/test_lift_recovered.py",
    "tests/consent/test_consent_fixture.py",
)


def pytest_collection_modifyitems(config, items) -> None:
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    root = Path(config.rootpath)

    def key(item) -> int:
        rel = Path(str(item.path)).resolve().relative_to(root.resolve()).as_posix()
        return rank.get(rel, len(rank))

    items.sort(key=key)  # stable: every other file keeps its order
