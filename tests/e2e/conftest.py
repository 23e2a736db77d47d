from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def env(prefect_server) -> dict[str, str]:
    """Each `lifecycle` subprocess talks to one persistent Prefect server, as a scheduled user's commands
    do (the session's `prefect server start`, tests/prefect_server.py), so its artifacts can be read
    back from that server's history."""
    return prefect_server.env()
