"""Ingest benchmark (issue 3): Lifecycle web ingest vs a bare DuckDB `read_json` of the same files.

    .venv/bin/python bench/bench_ingest.py --events 10000000 --days 30

Generates N Segment events over D day files (JSONL written by DuckDB, ~1% redelivered messages),
then, each phase in its own process so peak RSS is per phase:
  baseline     create table as select * from read_json(<all files>)   (fresh database)
  ingest       flows.sources.ingest.ingest_source(settings, "web")     (fresh data dir)
  incremental  one more day file into the warehouse that already holds all D days
  one_day      the same day file alone into an empty warehouse (what the day itself costs)
Target: ingest <= 2x baseline; incremental ~ one_day (proportional to the day, not history).
Results go to bench/results_ingest.json. Set LIFECYCLE_DUCKDB_MEMORY_LIMIT (e.g. 2GB) to cap
both sides' DuckDB memory; wall and CPU seconds are both reported (shared machines vary).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def generate_day(path: Path, day: int, n: int, offset: int) -> None:
    """One day of Segment messages; message ids overlap 1% with the previous day (redelivery)."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    start = max(0, offset - n // 100)
    con = duckdb.connect()
    con.execute(
        f"""
        copy (
            select
                'msg-' || i as messageId,
                case when i % 10 = 0 then 'page' when i % 50 = 1 then 'identify' else 'track' end as type,
                case i % 4 when 0 then 'Product Viewed' when 1 then 'Product Added'
                    when 2 then 'Checkout Started' else 'Order Completed' end as event,
                'anon-' || (i % 500000) as anonymousId,
                case when i % 3 = 0 then 'user-' || (i % 200000) end as userId,
                strftime(date '2026-01-01' + interval ({day}) day + to_seconds(i % 86400),
                         '%Y-%m-%dT%H:%M:%S.000Z') as timestamp,
                {{
                    'campaign': {{'source': 'google', 'medium': 'cpc', 'name': 'brand-' || (i % 37)}},
                    'page': {{'url': 'https://shop.example.com/p/' || (i % 1000),
                              'path': '/p/' || (i % 1000),
                              'referrer': 'https://www.google.com/', 'title': 'Product ' || (i % 1000)}},
                    'ip': '10.0.' || (i % 255) || '.1',
                    'library': {{'name': 'analytics.js', 'version': '2.11.1'}}
                }} as context,
                {{'product_id': 'p' || (i % 1000), 'price': (i % 100) + 0.99,
                  'quantity': 1 + i % 3}} as properties
            from range({start}, {offset + n}) as t(i)
        ) to '{path}' (format json)
        """
    )
    con.close()


def _phase(args: argparse.Namespace) -> dict:
    from flows.settings import Settings

    work = Path(args.work_dir)
    t0 = time.perf_counter()
    if args.phase == "baseline":
        import duckdb

        db = work / "baseline.duckdb"
        db.unlink(missing_ok=True)
        # Same DuckDB limits as the ingest connection gets from Settings (LIFECYCLE_DUCKDB_*).
        config = {}
        if Settings().duckdb_memory_limit:
            config["memory_limit"] = Settings().duckdb_memory_limit
        if Settings().duckdb_threads:
            config["threads"] = Settings().duckdb_threads
        con = duckdb.connect(str(db), config=config)
        glob = str(work / "raw" / "web" / "*.jsonl")
        con.execute(f"create table t as select * from read_json('{glob}', format='newline_delimited')")
        rows = con.execute("select count(*) from t").fetchall()[0][0]
        con.close()
    else:
        from flows.sources.ingest import ingest_source

        data = work / args.phase
        settings = Settings(data_dir=data)
        rows = ingest_source(settings, "web").rows
    seconds = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "phase": args.phase,
        "seconds": round(seconds, 2),
        # CPU time too: on a shared machine wall time depends on what else runs.
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "rows": rows,
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
    }


def run_phase(work: Path, phase: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--work-dir", str(work)],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(result), flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--work-dir", default="/tmp/lifecycle-bench-ingest")
    parser.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--output", default=str(ROOT / "bench" / "results_ingest.json"))
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(_phase(args)))
        return 0

    work = Path(args.work_dir)
    shutil.rmtree(work, ignore_errors=True)
    per_day = args.events // args.days
    t0 = time.perf_counter()
    for day in range(args.days):
        generate_day(work / "raw" / "web" / f"{day:03d}.jsonl", day, per_day, day * per_day)
    gen_seconds = time.perf_counter() - t0
    size_mb = sum(p.stat().st_size for p in (work / "raw" / "web").glob("*.jsonl")) / 2**20
    print(f"generated {args.days} files, {size_mb:.0f} MiB in {gen_seconds:.0f}s", flush=True)

    baseline = run_phase(work, "baseline")
    (work / "ingest").mkdir()
    (work / "ingest" / "raw").symlink_to(work / "raw", target_is_directory=True)
    ingest = run_phase(work, "ingest")

    # One new day: appended to the full warehouse vs loaded alone into an empty one.
    new_day = work / "newday.jsonl"
    generate_day(new_day, args.days, per_day, args.days * per_day)
    shutil.copy(new_day, work / "raw" / "web" / f"{args.days:03d}.jsonl")
    incremental = run_phase(work, "ingest")
    (work / "one_day" / "raw" / "web").mkdir(parents=True)
    shutil.copy(new_day, work / "one_day" / "raw" / "web" / "day.jsonl")
    one_day = run_phase(work, "one_day")

    result = {
        "events_generated": args.events,
        "days": args.days,
        "input_mib": round(size_mb),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_end": os.getloadavg()[0],
            "duckdb_memory_limit": os.environ.get("LIFECYCLE_DUCKDB_MEMORY_LIMIT"),
        },
        "baseline_read_json": baseline,
        "ingest": ingest,
        "ratio_ingest_vs_read_json": round(ingest["seconds"] / baseline["seconds"], 2),
        "cpu_ratio_ingest_vs_read_json": round(
            ingest.get("cpu_seconds", 0) / max(baseline.get("cpu_seconds", 0), 1e-9), 2
        ),
        "target_ratio": 2.0,
        "incremental_one_day_on_full_history": incremental,
        "one_day_into_empty_warehouse": one_day,
        "ratio_incremental_vs_one_day": round(incremental["seconds"] / one_day["seconds"], 2),
        "peak_rss_mb": max(ingest["peak_rss_mb"], incremental["peak_rss_mb"]),
    }
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
