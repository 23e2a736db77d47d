"""Fixtures for the BI tests: the generated data set, built once, published once per session.

The published file comes from a real `dbt build` (the session's `built_warehouse`) through the real
publish step, so types, comments and Parquet are what a BI user would get. The warehouse is copied
first: publishing writes under the data dir, and `built_warehouse` is shared read-only.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
README = HERE.parents[1] / "README.md"
sys.path.insert(0, str(HERE))


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


def readme_bi_queries() -> list[str]:
    """The SQL statements of README's "Pointing a BI tool" section, as a user would paste them."""
    text = README.read_text()
    section = text.split("## Pointing a BI tool", 1)[1].split("\n## ", 1)[0]
    statements: list[str] = []
    for block in re.findall(r"```sql\n(.*?)```", section, flags=re.S):
        for stmt in block.split(";"):
            code = "\n".join(ln for ln in stmt.splitlines() if not ln.strip().startswith("--")).strip()
            if code:
                statements.append(code)
    return statements


def run_client(python: Path | str, db: Path, queries: list[str], tmp: Path) -> dict:
    """Run client_query.py under `python` (another venv's duckdb) against `db`; its parsed output."""
    qfile = tmp / "queries.json"
    qfile.write_text(json.dumps(queries))
    proc = subprocess.run(
        [str(python), str(HERE / "client_query.py"), str(db), str(qfile)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise AssertionError(f"{python}: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout)
