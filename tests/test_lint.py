"""`make lint` is clean: ruff on the Python, sqlfluff (lower case, trailing commas, aliases) on the dbt SQL.

Run as a test so CI enforces it (`.ci/run` calls `make test`), in parallel with the rest of the suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_lint_is_clean() -> None:
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    proc = subprocess.run(
        ["make", "-s", "lint"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
