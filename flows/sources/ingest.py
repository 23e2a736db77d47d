"""Plain-function ingest: find new raw files, decide per file what to load, load them in batches.
The Prefect flows in `flows.sources.flows` only wire these.

New complete files of the usual shape (JSONL, plain or .gz; plain .json documents) are loaded in
batches of about `ingest_batch_mib`: one multi-file read, one de-duplication and one transaction
holding every file's rows and manifest row (DECISIONS.md "Ingest: batched loads"). Everything
else - an appended tail, a file caught mid-write, a .json.gz document, CSV - and every file of a
batch whose read fails (bad bytes, broken gzip) is loaded on its own, where damaged content is
quarantined line by line.

Change detection costs a `stat` per file: a file whose (size, mtime) match its manifest row is
skipped without being opened. Only candidates are hashed. A file that grew with an unchanged
prefix loads only its new tail; a file whose loaded content changed is quarantined once
(DECISIONS.md "Ingest: changed files").

Run as `python -m flows.sources.ingest --data-dir DIR [source]` (used by the kill -9 test).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from flows.settings import Settings
from flows.sources import records
from flows.sources.loader import Planned, commit_batch, commit_changed, commit_load, parse
from flows.sources.session import StagingSession
from flows.sources.specs import SPECS, SourceSpec
from flows.sources.summary import FileResult, IngestSummary, SourceSummary
from flows.warehouse import connect

SOURCES = tuple(SPECS)
_HASH_CHUNK = 1 << 23


@dataclass
class _Prior:
    size: int
    content_hash: str
    mtime_ns: int | None
    last_line: int | None
    status: str | None


def utc_now() -> datetime:
    """Naive UTC, the warehouse's timestamp convention."""
    return datetime.now(UTC).replace(tzinfo=None)


def discover(raw_dir: Path, spec: SourceSpec) -> list[Path]:
    """Files of a source, recursively, in a stable order (path order = load order)."""
    base = raw_dir / spec.subdir
    if not base.is_dir():
        return []
    found: set[Path] = set()
    for pattern in spec.patterns:
        found.update(p for p in base.rglob(pattern) if p.is_file() and not p.name.startswith("."))
    return sorted(found)


def file_hash(path: Path, size: int, prefix: int | None = None) -> tuple[str, str | None]:
    """sha256 of the first `size` bytes, and of the first `prefix` bytes on the way (one read)."""
    h = hashlib.sha256()
    prefix_digest: str | None = None
    done = 0
    with path.open("rb") as fh:
        while done < size:
            want = min(_HASH_CHUNK, size - done)
            if prefix is not None and prefix_digest is None and done + want >= prefix:
                want = prefix - done
            chunk = fh.read(want)
            if not chunk:
                break
            h.update(chunk)
            done += len(chunk)
            if prefix is not None and prefix_digest is None and done == prefix:
                prefix_digest = h.hexdigest()
    return h.hexdigest(), prefix_digest


def _priors(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, _Prior]:
    rows = con.execute(
        """
        select path, size_bytes, content_hash, mtime_ns, last_line, status
        from raw.load_manifest where source = ?
        qualify row_number() over (partition by path order by loaded_at desc, size_bytes desc) = 1
        """,
        [source],
    ).fetchall()
    return {r[0]: _Prior(*r[1:]) for r in rows}


def _plan(path: Path, rel: str, prior: _Prior | None) -> tuple[str, Planned | None, str | None]:
    """Decide what to do with one file: ('skip'|'load'|'changed'|'touch', plan, reason)."""
    st = path.stat()
    if prior is not None and st.st_size == prior.size and st.st_mtime_ns == prior.mtime_ns:
        return "skip", None, None
    size = st.st_size if records.is_document(path) else records.complete_size(path)
    if prior is None:
        digest, _ = file_hash(path, size)
        return "load", Planned(rel, size, st.st_mtime_ns, digest), None
    if size == prior.size:
        digest, _ = file_hash(path, size)
        if digest == prior.content_hash:
            return "touch", Planned(rel, size, st.st_mtime_ns, digest), None
        reason = "file changed after load: same size, different content; not reloaded"
        return "changed", Planned(rel, size, st.st_mtime_ns, digest, status="changed"), reason
    if size > prior.size and prior.status != "changed":
        digest, prefix_digest = file_hash(path, size, prefix=prior.size)
        if prefix_digest == prior.content_hash:
            plan = Planned(rel, size, st.st_mtime_ns, digest, (prior.last_line or 0) + 1, "appended")
            return "load", plan, None
    else:
        digest, _ = file_hash(path, size)
    if prior.status == "changed" and digest == prior.content_hash:
        return "touch", Planned(rel, size, st.st_mtime_ns, digest), None
    reason = (
        f"file changed after load: {prior.size} -> {size} bytes and the loaded content differs; "
        "not reloaded (add changed data as a new file)"
    )
    return "changed", Planned(rel, size, st.st_mtime_ns, digest, status="changed"), reason


# Runs after a source's loads committed, on the same connection (e.g. ingest-time redaction).
AfterLoad = Callable[[duckdb.DuckDBPyConnection, SourceSummary], None]


def ingest_files(
    con: duckdb.DuckDBPyConnection, settings: Settings, source: str, *, after_load: AfterLoad | None = None
) -> SourceSummary:
    """Load every new or grown file of one source through `con` (one transaction per batch).

    `after_load(con, summary)` runs once the source's last batch has committed and its temp
    relations are gone, before the checkpoint, when any file was loaded.
    """
    spec = SPECS[source]
    summary = SourceSummary(source)
    con.execute("set TimeZone = 'UTC'")
    # Line numbers are read positions (records.py): insertion order must be kept (DuckDB's default).
    con.execute("set preserve_insertion_order = true")
    # Many per-file commits: checkpoint seldom (the WAL is durable) and once at the end, instead
    # of rewriting the same partly filled row groups after every file.
    con.execute("set checkpoint_threshold = '1GB'")
    priors = _priors(con, source)
    try:
        with StagingSession.open(con, settings.root, source) as session:
            _ingest_planned(session, settings, spec, priors, summary)
        if after_load is not None and summary.files:
            after_load(con, summary)
    finally:
        con.execute("reset checkpoint_threshold")
        if summary.files:
            with contextlib.suppress(duckdb.Error):  # skipped if other transactions are running
                con.execute("checkpoint")
    return summary


def _ingest_planned(
    session: StagingSession,
    settings: Settings,
    spec: SourceSpec,
    priors: dict[str, _Prior],
    summary: SourceSummary,
) -> None:
    """Plan every file of the source and load what is new, in path order."""
    con, source, raw_dir = session.con, spec.name, settings.raw_dir
    max_bytes = settings.ingest_batch_mib << 20
    # Files are hashed ahead on one thread (hashlib releases the GIL) while DuckDB loads the
    # batches before them: hashing 4.6 GiB took 5 s during which the loader waited.
    planner = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"plan-{source}")
    try:
        items = [(path, path.relative_to(raw_dir).as_posix()) for path in discover(raw_dir, spec)]
        plans = planner.map(lambda item: _plan(item[0], item[1], priors.get(item[1])), items)
        batchable: list[tuple[Path, Planned]] = []
        pending = 0  # uncompressed bytes in `batchable`
        for (path, rel), (action, plan, reason) in zip(items, plans, strict=True):
            if action == "skip":
                summary.skipped_files += 1
                continue
            assert plan is not None
            if action == "touch":
                # Same bytes, new mtime: remember the mtime so the next run does not hash again.
                con.execute(
                    "update raw.load_manifest set mtime_ns = ? where source = ? and path = ? "
                    "and content_hash = ?",
                    [plan.mtime_ns, source, rel, plan.content_hash],
                )
                summary.skipped_files += 1
                continue
            if action == "changed":
                summary.add(commit_changed(session, spec, plan, utc_now(), reason or "file changed"))
                continue
            if batch_kind(spec, path, plan) is not None:
                if batchable and pending + _weight(path, plan) > max_bytes:
                    # A full batch loads now, while later files are still being hashed.
                    _load_batches(session, spec, batchable, max_bytes, summary)
                    pending = 0
                batchable.append((path, plan))
                pending += _weight(path, plan)
                continue
            # Files load in path order (the first occurrence of a duplicate wins): flush first.
            _load_batches(session, spec, batchable, max_bytes, summary)
            pending = 0
            result = load_one(session, spec, path, plan)
            if result is not None:
                summary.add(result)
        _load_batches(session, spec, batchable, max_bytes, summary)
    finally:
        planner.shutdown(wait=True, cancel_futures=True)


def _load_batches(
    session: StagingSession,
    spec: SourceSpec,
    pending: list[tuple[Path, Planned]],
    max_bytes: int,
    summary: SourceSummary,
) -> None:
    for batch in batches(spec, pending, max_bytes):
        for result in load_batch(session, spec, batch):
            summary.add(result)
    pending.clear()


# Compressed JSONL is about this many times larger once decompressed (for batch sizing only).
_GZ_EXPANSION = 8


def _weight(path: Path, plan: Planned) -> int:
    return plan.size * (_GZ_EXPANSION if path.suffix == ".gz" else 1)


def batch_kind(spec: SourceSpec, path: Path, plan: Planned) -> str | None:
    """'lines' or 'documents' when `path` can share a batch with other files, else None.

    Only new, complete, non-empty files: an appended tail needs its own first line, a file caught
    mid-write its own copy, and .json.gz documents and CSV files are read by Python/their own reader.
    """
    if spec.csv_columns or plan.first_line != 1 or plan.size == 0:
        return None
    if records.is_document(path):
        return "documents" if path.suffix != ".gz" else None
    return "lines" if plan.size == path.stat().st_size else None


def batches(
    spec: SourceSpec, files: list[tuple[Path, Planned]], max_bytes: int
) -> list[list[tuple[Path, Planned]]]:
    """Consecutive files of one kind, cut at about `max_bytes` of uncompressed input; file order is
    kept, so the first occurrence of a duplicate is the same as when files load one by one."""
    out: list[list[tuple[Path, Planned]]] = []
    current: list[tuple[Path, Planned]] = []
    kind: str | None = None
    weight = 0
    for path, plan in files:
        this_kind = batch_kind(spec, path, plan)
        size = _weight(path, plan)
        if current and (this_kind != kind or weight + size > max_bytes):
            out.append(current)
            current, weight = [], 0
        current.append((path, plan))
        kind = this_kind
        weight += size
    if current:
        out.append(current)
    return out


def load_batch(session: StagingSession, spec: SourceSpec, batch: list[tuple[Path, Planned]]) -> list:
    """Load a batch in one transaction; if it cannot be read as one (a damaged file in it, or
    lines not read in file order), load its halves, down to the damaged file alone."""
    if len(batch) <= 1:
        results = [load_one(session, spec, path, plan) for path, plan in batch]
        return [r for r in results if r is not None]
    paths = [p for p, _ in batch]
    plans = [plan for _, plan in batch]
    half = len(batch) // 2
    try:
        if batch_kind(spec, paths[0], plans[0]) == "lines":
            records.stage_lines_batch(session, paths)
            parsed = parse(session, spec, 1, n_files=len(paths), batch_numbered=True, positional=True)
        else:
            leftover = records.stage_documents_batch(session, paths, zendesk=spec.zendesk_pages)
            if leftover:
                # A document of unusual shape loads alone, in its place in path order (the first
                # occurrence of a duplicate wins): the files before it, it, then the rest.
                first = min(leftover)
                return (
                    load_batch(session, spec, batch[:first])
                    + load_batch(session, spec, batch[first : first + 1])
                    + load_batch(session, spec, batch[first + 1 :])
                )
            parsed = parse(session, spec, 1, n_files=len(paths))
    except records.READ_ERRORS:
        # A damaged file in the batch: halve it, so one bad file among hundreds costs a few
        # re-reads of shrinking halves, and only that file takes the slow path.
        return load_batch(session, spec, batch[:half]) + load_batch(session, spec, batch[half:])
    if not parsed.in_order:
        return load_batch(session, spec, batch[:half]) + load_batch(session, spec, batch[half:])
    return commit_batch(session, spec, plans, parsed, utc_now())


def load_one(session: StagingSession, spec: SourceSpec, path: Path, plan: Planned) -> FileResult | None:
    """Stage, parse (re-staging the slow way if the strict read fails) and commit one file."""
    if spec.csv_columns:
        staged = records.stage_csv(session, path, spec.csv_columns)
    else:
        staged = records.stage_file(session, path, zendesk=spec.zendesk_pages)
    try:
        parsed = parse(session, spec, plan.first_line, positional=staged.positional)
    except records.READ_ERRORS:
        if not staged.positional:
            raise
        records.restage_slow(session, staged)
        parsed = parse(session, spec, plan.first_line)
    if plan.status == "appended" and parsed.rows_in == 0:
        session.drop_batch()
        return None  # grew only by an incomplete line; the next run picks it up
    # plan.size stays the hashed size even if the file grew since: lines read beyond it are
    # counted in last_line, so the next run's prefix check still matches and skips them.
    return commit_load(session, spec, plan, parsed, utc_now())


def ingest_source(settings: Settings, source: str) -> SourceSummary:
    """Load new files of one source (web|email|tickets|spend|erasure)."""
    if source not in SPECS:
        from flows.errors import LifecycleError

        raise LifecycleError(f"unknown source {source!r}", hint=f"use one of {', '.join(SOURCES)}")
    con = connect(settings)
    try:
        return ingest_files(con, settings, source)
    finally:
        con.close()


def ingest_all(settings: Settings) -> IngestSummary:
    """Every file source, sequentially on one connection (see DECISIONS.md on concurrency)."""
    summary = IngestSummary()
    con = connect(settings)
    try:
        for source in SOURCES:
            summary.add(ingest_files(con, settings, source))
    finally:
        con.close()
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ingest raw files without Prefect")
    parser.add_argument("source", nargs="?", default="all", choices=(*SOURCES, "all"))
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("LIFECYCLE_DATA_DIR", "data")))
    args = parser.parse_args(argv)
    settings = Settings(data_dir=args.data_dir)
    if args.source == "all":
        print(ingest_all(settings))
    else:
        summary = IngestSummary()
        summary.add(ingest_source(settings, args.source))
        print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
