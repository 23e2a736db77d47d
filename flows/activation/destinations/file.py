"""The `file` destination: CSV audience files, a manifest and a per-run history, written atomically.

Layout under DIR/outbound/<destination>/<segment>/:

    runs/<run_id>/  latest.csv (full list), adds.csv, changes.csv, removes.csv, manifest.json
    latest.csv, adds.csv, changes.csv, removes.csv, manifest.json   (copies of the newest run)

Every sync run gets its own `runs/<run_id>/` folder, so the next sync (usually with few adds) never
destroys what an earlier one sent; the newest `history_runs` folders are kept (default 30). The top
level holds plain copies of the newest run, not symlinks: Windows shares, upload forms and sync
tools (OneDrive, S3 sync) all handle plain files, and a symlink there is either refused or copied
as a dangling link.

Atomicity: the run folder is written and fsynced as `runs/.<run_id>.tmp/` and renamed into place in
one step; the top-level copies are each written to `.<name>.<run_id>.tmp` and renamed, manifest last.
A crash, even kill -9, can leave only temp names behind, never a half-written visible file; the next
write to the folder sweeps those leftovers first. Sweeping is safe because a sync holds the
warehouse's single writer lock, so no other sync can be writing the same folder at that moment.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import polars as pl

from flows.activation.destinations import DeliveryResult
from flows.activation.state import KEY, Diff, now

FILES = ("latest", "adds", "changes", "removes")
RUNS_DIR = "runs"
TMP_SUFFIX = ".tmp"
DEFAULT_HISTORY_RUNS = 30


def file_export(audience: pl.DataFrame, fields: list[str]) -> pl.DataFrame:
    """The exported columns, keyed by person_id."""
    return audience.select(fields).with_columns(pl.col("person_id").cast(pl.Utf8).alias(KEY))


def _write_bytes(path: Path, data: bytes) -> None:
    """Write and fsync, so a rename after it never exposes a short file after a crash."""
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _csv(frame: pl.DataFrame) -> bytes:
    return frame.write_csv().encode()


def sweep_stale(target_dir: Path) -> list[str]:
    """Remove temp files and temp run folders a killed run left behind; returns what went."""
    removed: list[str] = []
    candidates = list(target_dir.glob(f".*{TMP_SUFFIX}"))
    runs = target_dir / RUNS_DIR
    if runs.is_dir():
        candidates += list(runs.glob(f".*{TMP_SUFFIX}"))
    for path in candidates:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        removed.append(str(path.relative_to(target_dir)))
    return removed


def prune_history(target_dir: Path, keep: int) -> list[str]:
    """Delete all but the newest `keep` run folders."""
    runs = target_dir / RUNS_DIR
    if not runs.is_dir():
        return []

    def age(path: Path) -> tuple[str, int]:
        # Run ids start with a seconds timestamp; within one second the write time decides.
        manifest = path / "manifest.json"
        return path.name.split("-", 1)[0], manifest.stat().st_mtime_ns if manifest.exists() else 0

    kept = sorted((p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")), key=age)
    doomed = kept[: max(0, len(kept) - keep)]
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return [p.name for p in doomed]


def write_files(
    target_dir: Path,
    diff: Diff,
    *,
    run_id: str,
    as_of: str | None,
    destination_type: str,
    history_runs: int = DEFAULT_HISTORY_RUNS,
    left_out: dict[str, Any] | None = None,
    frames: dict[str, pl.DataFrame] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the run folder, then the top-level copies, atomically; returns the manifest.

    `frames` overrides what goes into each CSV (vendor formats with their own headers); by default
    the diff's exported columns are written as they are.
    """
    target_dir.mkdir(parents=True, exist_ok=True)
    swept = sweep_stale(target_dir)
    if frames is None:
        frames = {
            "latest": diff.current.select(diff.columns),
            "adds": diff.adds.select(diff.columns),
            "changes": diff.changes.select(diff.columns),
            "removes": diff.removes.select(diff.columns),
        }
    payloads = {f"{name}.csv": _csv(frames[name]) for name in FILES}
    columns = frames["latest"].columns
    manifest: dict[str, Any] = {
        "segment": diff.segment,
        "destination": diff.destination,
        "destination_type": destination_type,
        "run_id": run_id,
        "generated_at": now().isoformat() + "Z",
        "as_of": as_of,
        "columns": columns,
        "row_counts": {name: frames[name].height for name in FILES},
        "files": {
            fname: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            for fname, data in payloads.items()
        },
        "left_out": left_out or {},
        "run_dir": f"{RUNS_DIR}/{run_id}",
        # Temp files of a killed earlier run, removed before this write.
        "swept": swept,
        **(extra or {}),
    }
    payloads["manifest.json"] = (json.dumps(manifest, indent=2, default=str) + "\n").encode()
    order = [f for f in payloads if f != "manifest.json"] + ["manifest.json"]

    runs = target_dir / RUNS_DIR
    runs.mkdir(exist_ok=True)
    run_tmp = runs / f".{run_id}{TMP_SUFFIX}"
    run_final = runs / run_id
    temps: dict[str, Path] = {}
    try:
        run_tmp.mkdir()
        for fname in order:
            _write_bytes(run_tmp / fname, payloads[fname])
        _fsync_dir(run_tmp)
        if run_final.exists():  # the same run id written twice (a retried task): replace it whole
            shutil.rmtree(run_final)
        os.replace(run_tmp, run_final)
        _fsync_dir(runs)
        for fname in order:
            tmp = target_dir / f".{fname}.{run_id}{TMP_SUFFIX}"
            temps[fname] = tmp
            _write_bytes(tmp, payloads[fname])
        for fname in order:
            os.replace(temps[fname], target_dir / fname)
        _fsync_dir(target_dir)
    finally:
        for tmp in temps.values():
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        if run_tmp.exists():
            shutil.rmtree(run_tmp, ignore_errors=True)
    manifest["pruned_runs"] = prune_history(target_dir, history_runs)  # reported, not in the file
    return manifest


def deliver_files(
    outbound_dir: Path,
    diff: Diff,
    *,
    run_id: str,
    as_of: str | None,
    destination_type: str,
    history_runs: int = DEFAULT_HISTORY_RUNS,
    left_out: dict[str, Any] | None = None,
    frames: dict[str, pl.DataFrame] | None = None,
    extra: dict[str, Any] | None = None,
) -> DeliveryResult:
    target = outbound_dir / diff.destination / diff.segment
    manifest = write_files(
        target,
        diff,
        run_id=run_id,
        as_of=as_of,
        destination_type=destination_type,
        history_runs=history_runs,
        left_out=left_out,
        frames=frames,
        extra=extra,
    )
    return DeliveryResult(
        status="ok",
        upserted=pl.concat([diff.adds, diff.changes]).select(KEY, "record_hash", "record"),
        removed_keys=diff.removes[KEY].to_list(),
        detail={"path": str(target), "manifest": manifest},
    )
