"""The `file` destination: CSV audience files and a manifest, written atomically.

DIR/outbound/<destination>/<segment>/ gets latest.csv (full list), adds.csv (new persons),
changes.csv (persons whose exported fields changed), removes.csv (persons gone since the last
successful sync) and manifest.json (counts, sha256 of each file, columns). Every file is first
written and fsynced under a temporary name; only when all are written are they renamed into place,
manifest last. A failure before that leaves the previous files untouched, and a reader can always
check the files against the manifest's hashes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import polars as pl

from flows.activation.destinations import DeliveryResult
from flows.activation.state import KEY, Diff, now

FILES = ("latest", "adds", "changes", "removes")


def file_export(audience: pl.DataFrame, fields: list[str]) -> pl.DataFrame:
    """The exported columns, keyed by person_id."""
    return audience.select(fields).with_columns(pl.col("person_id").cast(pl.Utf8).alias(KEY))


def _write_bytes(path: Path, data: bytes) -> None:
    """Write and fsync, so a rename after it never exposes a short file after a crash."""
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _csv(frame: pl.DataFrame) -> bytes:
    return frame.write_csv().encode()


def write_files(
    target_dir: Path,
    diff: Diff,
    *,
    run_id: str,
    as_of: str | None,
    destination_type: str,
) -> dict[str, Any]:
    """Write the four CSVs and the manifest atomically; returns the manifest."""
    target_dir.mkdir(parents=True, exist_ok=True)
    frames = {
        "latest": diff.current,
        "adds": diff.adds,
        "changes": diff.changes,
        "removes": diff.removes,
    }
    payloads = {f"{name}.csv": _csv(frames[name].select(diff.columns)) for name in FILES}
    manifest: dict[str, Any] = {
        "segment": diff.segment,
        "destination": diff.destination,
        "destination_type": destination_type,
        "run_id": run_id,
        "generated_at": now().isoformat() + "Z",
        "as_of": as_of,
        "columns": diff.columns,
        "row_counts": {name: frames[name].height for name in FILES},
        "files": {
            fname: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            for fname, data in payloads.items()
        },
    }
    payloads["manifest.json"] = (json.dumps(manifest, indent=2) + "\n").encode()
    temps: dict[str, Path] = {}
    try:
        for fname, data in payloads.items():
            tmp = target_dir / f".{fname}.{run_id}.tmp"
            temps[fname] = tmp
            _write_bytes(tmp, data)
        for fname in [f for f in payloads if f != "manifest.json"] + ["manifest.json"]:
            os.replace(temps[fname], target_dir / fname)
    finally:
        for tmp in temps.values():
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    return manifest


def deliver_files(
    outbound_dir: Path, diff: Diff, *, run_id: str, as_of: str | None, destination_type: str
) -> DeliveryResult:
    target = outbound_dir / diff.destination / diff.segment
    manifest = write_files(target, diff, run_id=run_id, as_of=as_of, destination_type=destination_type)
    return DeliveryResult(
        status="ok",
        upserted=pl.concat([diff.adds, diff.changes]).select(KEY, "record_hash", "record"),
        removed_keys=diff.removes[KEY].to_list(),
        detail={"path": str(target), "manifest": manifest},
    )
