"""A BI reader: holds published/marts.duckdb open read-only and checks snapshots in a loop.

Run as a subprocess (`python tests/ops/bi_reader.py MODE PUBLISHED STOPFILE OUTJSON`) by the publish
and end-to-end tests. MODE `hold` keeps one connection open the whole time (a dashboard that never
reconnects: it must keep its snapshot); MODE `reopen` connects afresh each iteration (it must see
each new publish whole). Separate processes, because DuckDB shares one database instance per file
within a process. Each iteration checks that `publish_info` names one run and every table has
exactly the rows it promises: a half-built file would fail that. Exceptions are recorded, and the
test asserts there were none.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb


def check(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute("select run_id, table_name, row_count from publish_info").fetchall()
    runs = {r[0] for r in rows}
    if len(runs) != 1:
        raise AssertionError(f"publish_info names {len(runs)} runs")
    for _, table, expected in rows:
        got = con.execute(f'select count(*) from main."{table}"').fetchall()[0][0]
        if got != expected:
            raise AssertionError(f"{table}: {got} rows, publish_info says {expected}")
    return runs.pop()


def main(mode: str, published: str, stop_file: str, out: str) -> int:
    held = duckdb.connect(published, read_only=True) if mode == "hold" else None
    held_run = check(held) if held is not None else None
    seen: list[str] = []
    errors: list[str] = []
    iterations = 0
    Path(out + ".ready").write_text("ready")
    while True:
        # One more pass after the stop file appears: it is written after the last publish, so a
        # reader connecting then must see it (the pass before may have connected just before it).
        stopping = Path(stop_file).exists()
        iterations += 1
        try:
            if held is not None:
                run = check(held)
                if run != held_run:
                    raise AssertionError("the held connection's snapshot changed under it")
            else:
                fresh = duckdb.connect(published, read_only=True)
                try:
                    run = check(fresh)
                finally:
                    fresh.close()
            if not seen or seen[-1] != run:
                seen.append(run)
        except Exception as exc:  # recorded, never raised: the test inspects them
            errors.append(f"{type(exc).__name__}: {exc}")
        if stopping:
            break
        time.sleep(0.02)
    if held is not None:
        held.close()
    Path(out).write_text(json.dumps({"iterations": iterations, "runs": seen, "errors": errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
