"""Older DuckDB clients for the BI tests, each in its own virtualenv, cached between runs.

Why: BI drivers bundle their own DuckDB (JDBC, ODBC, node, Evidence, older Python), most on 1.x, and
the published file must open in them (SPEC 9). The test opens it with the real older releases from
PyPI rather than trusting a version number. Each client lives in
`~/.cache/lifecycle-test-clients/duckdb-<version>/` (override with LIFECYCLE_TEST_CLIENTS_DIR), is
built once with `uv venv` (or `python -m venv`) + pip, and reused. `scripts/install-test-deps.sh`
runs this file so CI prepares them before the suite: `python3 tests/bi/old_clients.py`.

Standard library only, so it runs before the project's environment exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# The oldest client the SPEC names (1.1, storage version 64) and the newest 1.x (node
# @duckdb/node-api 1.5.6 and current JDBC/ODBC bundle 1.5).
CLIENT_VERSIONS = ("1.1.3", "1.5.6")


def clients_dir() -> Path:
    return Path(
        os.environ.get("LIFECYCLE_TEST_CLIENTS_DIR", Path.home() / ".cache" / "lifecycle-test-clients")
    )


def _python_in(venv: Path) -> Path:
    return venv / "bin" / "python"


def client_python(version: str) -> Path | None:
    """The python of the cached client venv for `version`, or None when it is not installed."""
    py = _python_in(clients_dir() / f"duckdb-{version}")
    if not py.exists():
        return None
    ok = subprocess.run(
        [str(py), "-c", f"import duckdb, sys; sys.exit(duckdb.__version__ != {version!r})"],
        capture_output=True,
    )
    return py if ok.returncode == 0 else None


def _uv() -> list[str] | None:
    if shutil.which("uv"):
        return ["uv"]
    probe = subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True)
    return [sys.executable, "-m", "uv"] if probe.returncode == 0 else None


def ensure_client(version: str) -> Path:
    """Install duckdb==`version` into its own venv (once) and return that venv's python."""
    found = client_python(version)
    if found is not None:
        return found
    venv = clients_dir() / f"duckdb-{version}"
    tmp = venv.with_name(venv.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(venv, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    uv = _uv()
    if uv:
        subprocess.run([*uv, "venv", "-q", "-p", sys.executable, str(tmp)], check=True)
        subprocess.run(
            [*uv, "pip", "install", "-q", "-p", str(_python_in(tmp)), f"duckdb=={version}"], check=True
        )
    else:
        subprocess.run([sys.executable, "-m", "venv", str(tmp)], check=True)
        subprocess.run(
            [
                str(_python_in(tmp)),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                f"duckdb=={version}",
            ],
            check=True,
        )
    # Renamed in whole, so an interrupted install is never mistaken for a ready client. A venv's
    # scripts name their interpreter by absolute path, but `bin/python` itself is a symlink to the
    # base interpreter and works from the new place.
    tmp.rename(venv)
    return _python_in(venv)


if __name__ == "__main__":
    for v in sys.argv[1:] or CLIENT_VERSIONS:
        print(f"duckdb {v}: {ensure_client(v)}")
