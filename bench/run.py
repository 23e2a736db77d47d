"""Lifecycle benchmark: how cost grows with the work (issue 8).

For each size (persons over a year of history) it generates the raw files, then times the pipeline
steps exactly as a user runs them - `lifecycle ingest`, `build`, `check`, `sync`, each a separate
process - recording wall time and peak RSS of each. Then it adds one new day of data and runs the
same steps again (the incremental daily run), and reads the same raw files with bare DuckDB side by
side (the ingest baseline). It prints a table and writes JSON (`bench/results.json` by default).

    .venv/bin/python bench/run.py                       # sizes 10000,100000 (about 10M web events)
    .venv/bin/python bench/run.py --sizes 10000         # one size
    .venv/bin/python bench/run.py --quick               # tiny smoke run, results to a temp file

Why processes: peak memory must include everything a step does (dbt, DuckDB, Prefect) and nothing
of the previous step; `os.wait4` gives the peak RSS of exactly one child. Why one Prefect server for
the whole run: without PREFECT_API_URL each CLI call would start a temporary server (~10-16 s), a
cost a deployment (`lifecycle serve`, or any Prefect server) never pays per run; the server is
started once here, outside the timings, like a deployment's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LIFECYCLE = REPO / ".venv" / "bin" / "lifecycle"
PYTHON = REPO / ".venv" / "bin" / "python"
PREFECT = REPO / ".venv" / "bin" / "prefect"
DEFAULT_OUT = REPO / "bench" / "results.json"

STEPS = ("ingest", "build", "check", "sync")
STEP_COMMANDS: dict[str, list[str]] = {
    "ingest": ["ingest", "all"],
    "build": ["build"],
    "check": ["check"],
    "sync": ["sync"],
}
# Targets on the reference machine (2 cores, 24 GiB), for the size with ~10 million web events.
TARGET_FULL_SECONDS = 600.0
TARGET_PEAK_BYTES = 4 * 1024**3
TARGET_INCREMENTAL_SHARE = 0.10
TARGET_INGEST_VS_BASELINE = 2.0
TARGET_SIZE = 100_000
SOURCES = ("web", "email", "tickets", "spend", "erasure")


@dataclass
class Measurement:
    """One child process: wall time, peak resident memory, exit status."""

    seconds: float
    peak_rss_bytes: int
    exit_code: int
    log: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass
class Phase:
    """A sequence of pipeline steps (the full run or the incremental run)."""

    steps: dict[str, Measurement] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return sum(m.seconds for m in self.steps.values())

    @property
    def peak_rss_bytes(self) -> int:
        return max((m.peak_rss_bytes for m in self.steps.values()), default=0)

    @property
    def ok(self) -> bool:
        return all(m.ok for m in self.steps.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 2),
            "peak_rss_mib": mib(self.peak_rss_bytes),
            "ok": self.ok,
            "steps": {
                name: {
                    "seconds": round(m.seconds, 2),
                    "peak_rss_mib": mib(m.peak_rss_bytes),
                    "exit_code": m.exit_code,
                }
                for name, m in self.steps.items()
            },
        }


def mib(n: int) -> float:
    return round(n / 1024**2, 1)


def measure(cmd: list[str], *, env: dict[str, str], log: Path, cwd: Path = REPO) -> Measurement:
    """Run `cmd` to completion; wall time and the child's own peak RSS (wait4, not RUSAGE_CHILDREN,
    so earlier steps never inflate a later step's peak)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measurement(elapsed, usage.ru_maxrss * 1024, proc.returncode, str(log))


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal"):
                mem_kib = int(line.split()[1])
    versions = {}
    for pkg in ("duckdb", "dbt-core", "dbt-duckdb", "prefect", "polars"):
        try:
            from importlib.metadata import version

            versions[pkg] = version(pkg)
        except Exception:  # the bench can run from a bare interpreter; versions are informative only
            versions[pkg] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024**2, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": versions,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrefectServer:
    """One local Prefect API server for every step (started outside the timings, as in a deployment)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def __enter__(self) -> PrefectServer:
        import httpx

        env = base_env() | {"PREFECT_HOME": str(self.home), "PREFECT_UI_ENABLED": "false"}
        self.home.mkdir(parents=True, exist_ok=True)
        log = (self.home / "server.log").open("w")
        self.proc = subprocess.Popen(
            [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prefect server exited, see {self.home / 'server.log'}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError("prefect server did not become healthy in 120 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "GX_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
        }
    )
    return env


# DuckDB's own readers over the same files, into a DuckDB file: what ingest is measured against.
# One (reader, patterns, options) per file shape; a source with two shapes reads both into its table.
BARE_READS: dict[str, list[tuple[str, tuple[str, ...], str]]] = {
    "web": [("read_json", ("**/*.jsonl", "**/*.jsonl.gz"), "format='newline_delimited', union_by_name=true")],
    "email": [
        ("read_json", ("**/*.json", "**/*.json.gz"), "format='array', union_by_name=true"),
        ("read_json", ("**/*.jsonl", "**/*.jsonl.gz"), "format='newline_delimited', union_by_name=true"),
    ],
    # Zendesk pages differ in shape (tickets, users, metrics): a typed union of 1,000+ page schemas
    # runs out of memory, so the bare read keeps each page as one JSON value.
    "tickets": [("read_json_objects", ("**/*.json", "**/*.json.gz"), "format='auto'")],
    "spend": [("read_csv", ("**/*.csv",), "header=true, union_by_name=true")],
    "erasure": [("read_csv", ("**/*.csv",), "header=true, union_by_name=true")],
}


def bare_duckdb_read(raw_dir: Path, db: Path) -> None:
    """Runs in its own process (`run.py _bare RAW DB`), so its time and memory are its own.

    `ignore_errors` because the generated files carry deliberately dirty lines, which ingest
    quarantines and a bare read must skip rather than fail on.
    """
    import duckdb

    con = duckdb.connect(str(db))
    try:
        for name, shapes in BARE_READS.items():
            start = time.perf_counter()
            for reader, patterns, options in shapes:
                files = sorted({str(p) for pattern in patterns for p in (raw_dir / name).glob(pattern)})
                if not files:
                    continue
                read = f"select * from {reader}($files, {options}, ignore_errors=true)"
                exists = con.execute(
                    "select count(*) from information_schema.tables where table_name = ?", [name]
                ).fetchall()[0][0]
                if exists:
                    con.execute(f"insert into {name} by name {read}", {"files": files})
                else:
                    con.execute(f"create table {name} as {read}", {"files": files})
            rows = con.execute(f"select count(*) from {name}").fetchall()[0][0] if _has(con, name) else 0
            print(f"{name}: {rows} rows in {time.perf_counter() - start:.1f} s", flush=True)
    finally:
        con.close()


def _has(con, name: str) -> bool:
    return bool(
        con.execute("select count(*) from information_schema.tables where table_name = ?", [name]).fetchall()[
            0
        ][0]
    )


def raw_stats(raw_dir: Path) -> dict[str, dict[str, int]]:
    stats = {}
    for source in SOURCES:
        files = [p for p in (raw_dir / source).rglob("*") if p.is_file()]
        stats[source] = {"files": len(files), "bytes": sum(p.stat().st_size for p in files)}
    return stats


def warehouse_counts(data_dir: Path) -> dict[str, int]:
    """Row counts of the raw tables (read after the steps, when no process holds the file)."""
    import duckdb

    path = data_dir / "warehouse.duckdb"
    if not path.exists():
        return {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'raw' and table_type = 'BASE TABLE' order by 1"
            ).fetchall()
        ]
        return {t: con.execute(f'select count(*) from raw."{t}"').fetchall()[0][0] for t in tables}
    finally:
        con.close()


def generate_cmd(data_dir: Path, persons: int, days: int, start: date, seed: int) -> list[str]:
    return [
        str(LIFECYCLE),
        "generate",
        "--data-dir",
        str(data_dir),
        "--customers",
        str(persons),
        "--days",
        str(days),
        "--start",
        start.isoformat(),
        "--seed",
        str(seed),
    ]


def _web_bytes(raw_dir: Path) -> int:
    return sum(p.stat().st_size for p in (raw_dir / "web").rglob("*") if p.is_file())


def add_one_day(
    data_dir: Path, scratch: Path, persons: int, days: int, start: date, seed: int, env: dict[str, str]
) -> tuple[Measurement, int]:
    """Write one new day of raw files after the year into `data_dir/raw` (new files, as a daily drop).

    The generator simulates a population over a period, so "one more day" is generated as its own
    one-day data set (another seed, so every id is new) and its files are moved in under a
    `day-<date>` prefix, exactly like a new daily export landing. Its population is calibrated so
    the day's web volume matches an average day of the year: a first try with a day's share of the
    persons, scaled once by the ratio of web bytes.
    """
    day = start + timedelta(days=days)
    target = _web_bytes(data_dir / "raw") / days
    day_persons = max(persons // days, 10)
    for _ in range(2):
        shutil.rmtree(scratch, ignore_errors=True)
        m = measure(
            generate_cmd(scratch, day_persons, 1, day, seed + 1), env=env, log=scratch.parent / "day.log"
        )
        if not m.ok:
            return m, day_persons
        got = _web_bytes(scratch / "raw")
        if not got or abs(got - target) < 0.15 * target:
            break
        day_persons = max(int(day_persons * target / got), 10)
    for source_dir in (scratch / "raw").iterdir():
        if not source_dir.is_dir():
            continue
        for path in source_dir.rglob("*"):
            if path.is_file():
                rel = path.relative_to(source_dir)
                dest = data_dir / "raw" / source_dir.name / f"day-{day.isoformat()}" / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(path), dest)
    return m, day_persons


def run_steps(data_dir: Path, env: dict[str, str], logs: Path) -> Phase:
    phase = Phase()
    for step in STEPS:
        cmd = [str(LIFECYCLE), *STEP_COMMANDS[step], "--data-dir", str(data_dir)]
        m = measure(cmd, env=env, log=logs / f"{step}.log")
        phase.steps[step] = m
        status = "ok" if m.ok else f"EXIT {m.exit_code} (see {m.log})"
        print(f"    {step:<8} {m.seconds:8.1f} s  {mib(m.peak_rss_bytes):8.1f} MiB  {status}", flush=True)
    return phase


def bench_size(persons: int, days: int, start: date, seed: int, work: Path, env: dict[str, str]) -> dict:
    data_dir = work / f"persons-{persons}"
    logs = work / "logs" / f"persons-{persons}"
    print(f"== {persons} persons, {days} days", flush=True)
    # A data dir left by an earlier run (--work-dir reused) would hold that run's warehouse and
    # manifest: the regenerated files would then be "changed" files, not a full load.
    for stale in (data_dir, work / f"day-{persons}", logs):
        shutil.rmtree(stale, ignore_errors=True)
    # Other work on the machine distorts timings; the load average says how much there was.
    load_at_start = os.getloadavg()[0]
    gen = measure(generate_cmd(data_dir, persons, days, start, seed), env=env, log=logs / "generate.log")
    print(f"    generate {gen.seconds:8.1f} s  {mib(gen.peak_rss_bytes):8.1f} MiB", flush=True)
    if not gen.ok:
        raise RuntimeError(f"generate failed, see {gen.log}")
    raw = raw_stats(data_dir / "raw")

    full = run_steps(data_dir, env, logs / "full")
    counts = warehouse_counts(data_dir)

    # The bare-DuckDB read of the same files, side by side with ingest (same machine, same run).
    baseline_db = work / f"baseline-{persons}.duckdb"
    baseline_db.unlink(missing_ok=True)
    baseline = measure(
        [str(PYTHON), __file__, "_bare", str(data_dir / "raw"), str(baseline_db)],
        env=env,
        log=logs / "baseline.log",
    )
    baseline_db.unlink(missing_ok=True)
    print(f"    baseline {baseline.seconds:8.1f} s  {mib(baseline.peak_rss_bytes):8.1f} MiB", flush=True)

    print("  + one new day", flush=True)
    scratch = work / f"day-{persons}"
    shutil.rmtree(scratch, ignore_errors=True)
    day_gen, day_persons = add_one_day(data_dir, scratch, persons, days, start, seed, env)
    if not day_gen.ok:
        raise RuntimeError(f"generate (one day) failed, see {day_gen.log}")
    incremental = run_steps(data_dir, env, logs / "incremental")
    counts_after = warehouse_counts(data_dir)

    return {
        "persons": persons,
        "days": days,
        "load_avg_1m": {"start": round(load_at_start, 1), "end": round(os.getloadavg()[0], 1)},
        "raw_files": raw,
        "raw_rows": counts,
        "raw_rows_after_new_day": counts_after,
        "web_events": counts.get("segment_events"),
        "generate": {"seconds": round(gen.seconds, 2), "peak_rss_mib": mib(gen.peak_rss_bytes)},
        "new_day": {"persons": day_persons, "web_rows_added": _added(counts, counts_after, "segment_events")},
        "full": full.as_json(),
        "incremental": incremental.as_json(),
        "ingest": {
            "seconds": round(full.steps["ingest"].seconds, 2),
            "bare_duckdb_seconds": round(baseline.seconds, 2),
            "bare_duckdb_peak_rss_mib": mib(baseline.peak_rss_bytes),
            "ratio": round(full.steps["ingest"].seconds / baseline.seconds, 2) if baseline.seconds else None,
        },
        "targets": evaluate_targets(full, incremental, baseline),
    }


def _added(before: dict[str, int], after: dict[str, int], table: str) -> int | None:
    if table not in before or table not in after:
        return None
    return after[table] - before[table]


def evaluate_targets(full: Phase, incremental: Phase, baseline: Measurement) -> dict[str, Any]:
    ingest = full.steps["ingest"].seconds
    return {
        "full_under_10_min": {
            "met": full.ok and full.seconds < TARGET_FULL_SECONDS,
            "value_s": round(full.seconds, 1),
        },
        "peak_under_4_gib": {
            "met": max(full.peak_rss_bytes, incremental.peak_rss_bytes) < TARGET_PEAK_BYTES,
            "value_mib": mib(max(full.peak_rss_bytes, incremental.peak_rss_bytes)),
        },
        "incremental_at_most_10pct": {
            "met": incremental.ok and incremental.seconds <= TARGET_INCREMENTAL_SHARE * full.seconds,
            "value_share": round(incremental.seconds / full.seconds, 3) if full.seconds else None,
        },
        "ingest_at_most_2x_bare_duckdb": {
            "met": full.steps["ingest"].ok and ingest <= TARGET_INGEST_VS_BASELINE * baseline.seconds,
            "value_ratio": round(ingest / baseline.seconds, 2) if baseline.seconds else None,
        },
    }


def print_table(runs: list[dict]) -> None:
    header = f"{'persons':>8} {'web events':>11} {'phase':<12}" + "".join(f"{s:>10}" for s in STEPS)
    header += f"{'total s':>10} {'peak MiB':>9}"
    print()
    print(header)
    print("-" * len(header))
    for run in runs:
        for phase in ("full", "incremental"):
            p = run[phase]
            cells = "".join(f"{p['steps'][s]['seconds']:>10.1f}" for s in STEPS)
            events = f"{run['web_events'] or 0:>11,}" if phase == "full" else " " * 11
            total = f"{p['seconds']:>10.1f} {p['peak_rss_mib']:>9.1f}"
            print(f"{run['persons']:>8} {events} {phase:<12}{cells}{total}")
        ing = run["ingest"]
        print(
            f"{'':>8} {'':>11} {'bare duckdb':<12}{ing['bare_duckdb_seconds']:>10.1f}"
            f"  (ingest / bare = {ing['ratio']}x)"
        )
    print()
    for run in runs:
        marks = ", ".join(
            f"{name} {'MET' if t['met'] else 'MISSED'} ({next(v for k, v in t.items() if k != 'met')})"
            for name, t in run["targets"].items()
        )
        print(f"targets @ {run['persons']} persons: {marks}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_bare"]:
        bare_duckdb_read(Path(argv[1]), Path(argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="persons per run, comma-separated")
    parser.add_argument("--days", type=int, default=365, help="days of history (default 365)")
    parser.add_argument(
        "--start", type=date.fromisoformat, default=None, help="first day (default: a year ago)"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (200 persons, 30 days)")
    parser.add_argument("--out", type=Path, default=None, help=f"JSON results (default {DEFAULT_OUT})")
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="where data dirs go (default: a temp dir)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data dirs afterwards")
    args = parser.parse_args(argv)

    if args.quick:
        sizes, days = [200], 30
        out = args.out or Path(tempfile.gettempdir()) / "lifecycle-bench-quick.json"
    else:
        sizes, days = [int(s) for s in args.sizes.split(",") if s.strip()], args.days
        out = args.out or DEFAULT_OUT
    # Ends yesterday, so no generated event lies in the future and the incremental day is today.
    # The year ends the day before yesterday, so the new day is yesterday: never in the future.
    start = args.start or (datetime.now(UTC).date() - timedelta(days=days + 1))
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="lifecycle-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    results: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "config": {
            "sizes": sizes,
            "days": days,
            "start": start.isoformat(),
            "seed": args.seed,
            "quick": args.quick,
        },
        "targets": {
            "full_pipeline_seconds_max": TARGET_FULL_SECONDS,
            "peak_rss_bytes_max": TARGET_PEAK_BYTES,
            "incremental_share_max": TARGET_INCREMENTAL_SHARE,
            "ingest_vs_bare_duckdb_max": TARGET_INGEST_VS_BASELINE,
            "applies_to_persons": TARGET_SIZE,
        },
        "method": (
            "each step is a separate `lifecycle <step> --data-dir` process; seconds = wall time, peak = that "
            "process's max RSS (os.wait4); one Prefect API server for the whole run, started outside the "
            "timings; full = ingest+build+check+sync over a year; incremental = the same steps after one "
            "new day of files; bare duckdb = read_json/read_csv of the same raw files into a DuckDB file"
        ),
        "runs": [],
    }
    env = base_env()
    try:
        with PrefectServer(work / ".prefect") as server:
            env["PREFECT_API_URL"] = server.api_url
            for persons in sizes:
                results["runs"].append(bench_size(persons, days, start, args.seed, work, env))
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    finally:
        failed = any(not (r["full"]["ok"] and r["incremental"]["ok"]) for r in results["runs"])
        if args.keep or args.work_dir is not None or failed or len(results["runs"]) < len(sizes):
            print(f"data dirs and step logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print_table(results["runs"])
    print(f"\nresults written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
