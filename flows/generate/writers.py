"""Writing raw files: deterministic names and bytes, atomic replacement, late/duplicate carry-over.

- Names are a pure function of the day (`web/2026/03/2026-03-14.jsonl.gz`), so re-running `generate`
  into the same directory overwrites the same files instead of doubling the data; the ingest side
  loads a file at most once by content hash, and identical bytes mean nothing new to load.
- gzip is written with mtime=0 and no file name, so the same seed gives byte-identical files.
- Every file is written to a hidden `.name.tmp` next to it and renamed over the target, so a crash
  never leaves a half-written file that an ingest run would trust.
- Late and redelivered records are carried into a later day's file (appended after that day's
  own records), which is how real exports deliver them.
"""

from __future__ import annotations

import gzip
import os
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip: no timestamp, no file name in the header."""
    return gzip.compress(data, compresslevel=6, mtime=0)


def day_path(root: Path, start: date, d: int, suffix: str) -> Path:
    day = start + timedelta(days=d)
    return root / f"{day:%Y}" / f"{day:%m}" / f"{day:%Y-%m-%d}{suffix}"


class DayFiles:
    """One file per day for a line-oriented source, with records carried over to later days."""

    def __init__(self, root: Path, start: date, days: int, pool: ThreadPoolExecutor) -> None:
        self.root = root
        self.start = start
        self.days = days
        self.pool = pool
        self._carry: dict[int, list[pl.Series]] = defaultdict(list)
        self._pending: list[Future[None]] = []
        self.files = 0
        self.records = 0

    def carry(self, day: int, lines: pl.Series) -> bool:
        """Queue lines for a later day's file; False when that day is outside the window."""
        if day >= self.days or lines.is_empty():
            return False
        self._carry[day].append(lines)
        return True

    def take(self, d: int, lines: pl.Series) -> pl.Series:
        """The day's own lines followed by anything carried into it."""
        carried = self._carry.pop(d, [])
        return pl.concat([lines.cast(pl.String), *carried]) if carried else lines.cast(pl.String)

    def write(self, path: Path, data: bytes, compress: bool, n_records: int) -> None:
        self.files += 1
        self.records += n_records

        def job() -> None:
            atomic_write(path, gzip_bytes(data) if compress else data)

        self._pending.append(self.pool.submit(job))
        if len(self._pending) > 8:  # bound memory: never more than a few days of bytes in flight
            self._pending.pop(0).result()

    def finish(self) -> None:
        for f in self._pending:
            f.result()
        self._pending.clear()


def _joined(lines: pl.Series, sep: str) -> bytes:
    """Lines each followed by `sep`, as bytes, straight from the Arrow buffer (no Python str copy)."""
    arr = (lines + sep).rechunk().to_arrow().cast(pa.large_string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    return arr.buffers()[2].to_pybytes()[int(offsets[0]) : int(offsets[-1])]


def jsonl_bytes(lines: pl.Series) -> bytes:
    if lines.is_empty():
        return b""
    return _joined(lines, "\n")


def json_array_bytes(lines: pl.Series) -> bytes:
    """A webhook POST body: a JSON array, one event per line for readability."""
    if lines.is_empty():
        return b"[]\n"
    return b"[\n" + _joined(lines, ",\n")[:-2] + b"\n]\n"
