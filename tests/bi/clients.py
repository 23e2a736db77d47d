"""Helpers of the BI tests: README's BI queries as a user would paste them, and a client run."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE.parents[1] / "README.md"


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
