"""Benchmark `lifecycle generate`: wall time, peak RSS and output size for a given size.

    .venv/bin/python bench/bench_generate.py --customers 100000 --days 365

CPU time is printed next to wall time because a shared machine's wall time says little.
Writes into a fresh temporary directory (removed afterwards unless --keep) and prints one summary
block; the generator must stay in minutes and in bounded memory at 100k persons x 365 days.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.generate import generate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--dirty-rate", type=float, default=0.01)
    ap.add_argument("--keep", action="store_true", help="keep the output directory")
    args = ap.parse_args(argv)
    out = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    try:
        t0 = time.perf_counter()
        summary = generate(
            out / "raw",
            customers=args.customers,
            days=args.days,
            seed=args.seed,
            start=None,
            dirty_rate=args.dirty_rate,
        )
        wall = time.perf_counter() - t0
        usage = resource.getrusage(resource.RUSAGE_SELF)
        peak_mb = usage.ru_maxrss / 1024
        cpu = usage.ru_utime + usage.ru_stime
        size_mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
        print(summary)
        print(
            f"bench_generate customers={args.customers} days={args.days}: wall {wall:.1f}s, cpu {cpu:.1f}s, "
            f"peak RSS {peak_mb:.0f} MB, on disk {size_mb:.0f} MB, "
            f"web records/s {summary.records['web'] / wall:,.0f}"
        )
        if args.keep:
            print(f"kept {out}")
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
