"""`lifecycle sync` as plain functions: segments -> audiences -> destinations, with sync state (SPEC 8).

`run_sync` is the whole sync; flows.py wraps it as a Prefect flow whose audience computation and
destinations are tasks. Without Prefect (`lifecycle sync --dry-run` with no server configured) the
same function runs as is. One (segment, destination) failing does not stop the others: the run
finishes, records what each destination confirmed, and reports a partial failure (`SyncSummary.ok`
is False). `dry_run` opens the warehouse read-only, computes the same diffs and writes nothing.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from flows.activation.audiences import as_of as warehouse_as_of
from flows.activation.audiences import compute_audiences
from flows.activation.config import ActivationConfig, DestinationConfig, SegmentConfig, load_config
from flows.activation.credentials import Redactor, channel_credentials, resolve_secret, skip_reason
from flows.activation.destinations import DeliveryResult
from flows.activation.destinations.ads import ADS_COLUMNS, ads_export
from flows.activation.destinations.channel_apis import deliver_channel
from flows.activation.destinations.channel_formats import CHANNEL_TYPES, channel_export
from flows.activation.destinations.channel_formats import COLUMNS as CHANNEL_COLUMNS
from flows.activation.destinations.file import deliver_files, file_export, write_files
from flows.activation.destinations.http import deliver_http
from flows.activation.exclusions import left_out_counts
from flows.activation.holdouts import apply_holdouts, import_history
from flows.activation.state import (
    commit_records,
    compute_diff,
    ensure_schema,
    finish_run,
    new_run_id,
    record_dead_letters,
    record_result,
    start_run,
)
from flows.errors import LifecycleError
from flows.privacy import vendor_erasure
from flows.settings import Settings
from flows.warehouse import open_warehouse

OK_STATUSES = {"ok", "skipped", "dry-run"}
COLUMNS = ("segment", "destination", "status", "rows", "adds", "changes", "removes", "failures")


@dataclass
class SyncSummary:
    """Per (segment, destination) outcome of one sync run."""

    run_id: str
    dry_run: bool
    as_of: str | None
    results: list[dict[str, Any]] = field(default_factory=list)
    # Vendor deletions of erased persons sent (or still pending) before the segments (vendor_erasure.py).
    erasure_lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r["status"] in OK_STATUSES for r in self.results)

    def summary_line(self) -> str:
        """One line for the run summary: counts, and the first failure if any."""
        failed = [r for r in self.results if r["status"] not in OK_STATUSES]
        sent = sum(r["adds"] + r["changes"] + r["removes"] for r in self.results if r["status"] != "skipped")
        line = f"{len(self.results)} segment/destination syncs, {sent} adds/changes/removes"
        if self.dry_run:
            line += " (dry run)"
        if failed:
            first = failed[0]
            line += (
                f"; {len(failed)} failed, first {first['segment']}/{first['destination']}: {first['error']}"
            )
        return line

    def to_rows(self) -> list[dict[str, Any]]:
        return [{k: r.get(k) for k in (*COLUMNS, "type", "error")} for r in self.results]

    def __str__(self) -> str:
        head = (
            f"sync {self.run_id}{' (dry run: nothing written)' if self.dry_run else ''}, as_of {self.as_of}"
        )
        table = [list(COLUMNS)] + [[str(r.get(c, "")) for c in COLUMNS] for r in self.results]
        widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
        lines = [head]
        for n, row in enumerate(table):
            lines.append(
                "  ".join(
                    v.ljust(w) if i < 3 else v.rjust(w)
                    for i, (v, w) in enumerate(zip(row, widths, strict=True))
                )
            )
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        lines += self.erasure_lines
        # Optional destinations without their URL/credentials: one line each, the same in a dry run.
        lines += [
            f"{r['segment']}/{r['destination']} {r['error']}"
            for r in self.results
            if r.get("error") and r["status"] == "skipped"
        ]
        errors = [
            f"  {r['segment']}/{r['destination']}: {r['error']}"
            for r in self.results
            if r.get("error") and r["status"] != "skipped"
        ]
        if errors:
            lines += ["errors:", *errors]
        lines.append("result: " + ("ok" if self.ok else "PARTIAL FAILURE (see errors and sync.dead_letters)"))
        return "\n".join(lines)


def build_export(
    dest: DestinationConfig, seg: SegmentConfig, audience: pl.DataFrame
) -> tuple[pl.DataFrame, list[str]]:
    """The frame a destination sends (with record_key) and its exported columns."""
    if dest.type == "ads_audience":
        return ads_export(audience, dest.default_country_code), list(ADS_COLUMNS)
    if dest.type in CHANNEL_TYPES:
        return channel_export(dest.type, audience, dest.default_country_code), CHANNEL_COLUMNS[dest.type]
    return file_export(audience, seg.fields), list(seg.fields)


def sync_destination(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    dest: DestinationConfig,
    seg: SegmentConfig,
    audience: pl.DataFrame,
    *,
    run_id: str,
    as_of: str | None,
    dry_run: bool,
    logger: logging.Logger | logging.LoggerAdapter | None = None,
    http_sleep: Callable[[float], None] = time.sleep,
    left_out: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Diff one (segment, destination), deliver it, and commit what was confirmed. Plain function;
    flows.py wraps it as the sync's per-destination task.

    `left_out` is the segment's exclusion counts (exclusions.left_out_counts); the destination adds
    the persons its own format cannot carry (an ads file without a usable email or phone). Without
    a `logger`, the Prefect run's logger inside a run, else this module's.
    """
    logger = logger or _logger()
    export, columns = build_export(dest, seg, audience)
    left_out = destination_left_out(left_out, audience, export)
    diff = compute_diff(con, dest.name, seg.name, export, columns)
    row: dict[str, Any] = {
        "segment": seg.name,
        "destination": dest.name,
        "type": dest.type,
        **diff.counts,
        "failures": 0,
        "error": None,
    }
    try:
        skip = skip_reason(dest)
    except LifecycleError as exc:  # not optional and not configured: this destination fails
        pending = row["adds"] + row["changes"] + row["removes"]
        row = {**row, "status": "failed", "failures": pending, "error": LifecycleError.describe(exc)}
        if not dry_run:
            record_result(con, run_id, row)
        return row
    if skip is not None:  # nothing is sent, so nothing is counted as added or removed
        row = {**row, "status": "skipped", "adds": 0, "changes": 0, "removes": 0, "error": skip}
        if not dry_run:
            record_result(con, run_id, row)
        return row
    if dry_run:
        return {**row, "status": "dry-run"}
    redact = Redactor()
    try:
        if dest.type in CHANNEL_TYPES and dest.push:
            token, developer_token, base_url = channel_credentials(dest)
            redact = Redactor(token, developer_token, base_url)
            result = deliver_channel(
                dest,
                diff,
                token=token or "",
                developer_token=developer_token,
                base_url=base_url,
                run_id=run_id,
                logger=logger,
                sleep=http_sleep,
            )
            # The channel's CSV of this run goes into the file history too, with what the API took.
            write_files(
                settings.outbound_dir / diff.destination / diff.segment,
                diff,
                run_id=run_id,
                as_of=as_of,
                destination_type=dest.type,
                history_runs=dest.history_runs,
                left_out=left_out,
                extra={"push": {"status": result.status, **result.detail, "failures": result.failures}},
            )
        elif dest.type == "http":
            url = resolve_secret(dest.url_env, dest.url_secret, f"destination {dest.name!r} url")
            token = resolve_secret(dest.token_env, dest.token_secret, f"destination {dest.name!r} token")
            redact = Redactor(url, token)
            if url is None:  # unset since skip_reason looked (a Secret block removed meanwhile)
                raise LifecycleError(f"destination {dest.name!r}: no URL")
            result: DeliveryResult = deliver_http(
                dest, diff, url=url, token=token, run_id=run_id, logger=logger, sleep=http_sleep
            )
        else:
            result = deliver_files(
                settings.outbound_dir,
                diff,
                run_id=run_id,
                as_of=as_of,
                destination_type=dest.type,
                history_runs=dest.history_runs,
                left_out=left_out,
            )
    except Exception as exc:  # one destination failing must not stop the others
        message = redact(LifecycleError.describe(exc))
        logger.error("segment %s, destination %s failed: %s", seg.name, dest.name, message)
        pending = row["adds"] + row["changes"] + row["removes"]
        row = {**row, "status": "failed", "failures": pending, "error": message}
        record_result(con, run_id, row)
        return row
    row = {**row, "status": result.status, "failures": result.failures, "error": result.error}
    con.begin()
    try:
        commit_records(con, run_id, dest.name, seg.name, result.upserted, result.removed_keys)
        record_dead_letters(con, run_id, dest.name, seg.name, result.dead_letters)
        record_result(con, run_id, row)
        con.commit()
    except Exception:
        con.rollback()
        raise
    logger.info(
        "segment %s -> %s: %d rows, %d adds, %d changes, %d removes, %d failures",
        seg.name,
        dest.name,
        row["rows"],
        row["adds"],
        row["changes"],
        row["removes"],
        row["failures"],
    )
    return row


def destination_left_out(
    left_out: dict[str, Any] | None, audience: pl.DataFrame, export: pl.DataFrame
) -> dict[str, Any]:
    """The segment's exclusion counts plus the audience rows this destination's export dropped."""
    out: dict[str, Any] = {**(left_out or {})}
    dropped = audience.height - export.height
    if dropped:
        out["by_reason"] = {**out.get("by_reason", {}), "no_usable_identifier": dropped}
        out["total"] = out.get("total", 0) + dropped
    return out


LOG = logging.getLogger("lifecycle.sync")

# The two steps Prefect shows as tasks; plain calls by default.
ComputeAudiences = Callable[
    [Settings, duckdb.DuckDBPyConnection, list[str], ActivationConfig], dict[str, pl.DataFrame]
]
DeliverOne = Callable[..., dict[str, Any]]


def _logger() -> logging.Logger | logging.LoggerAdapter:
    """The Prefect run's logger inside a flow or task run (flows.py wraps the steps below as tasks),
    else this module's. Prefect is never imported for it: a plain dry run stays without it."""
    if "prefect" in sys.modules:
        from prefect import get_run_logger

        try:
            return get_run_logger()
        except Exception:  # noqa: BLE001 - outside a run (MissingContextError)
            pass
    return LOG


def compute_selected(
    settings: Settings, con: duckdb.DuckDBPyConnection, segments: list[str], config: ActivationConfig
) -> dict[str, pl.DataFrame]:
    """The audiences of the selected segments."""
    return compute_audiences(settings, con, segments, config=config)


def run_sync(
    settings: Settings,
    segments: list[str] | None = None,
    dry_run: bool = False,
    *,
    logger: logging.Logger | logging.LoggerAdapter = LOG,
    compute: ComputeAudiences = compute_selected,
    deliver: DeliverOne = sync_destination,
    http_sleep: Callable[[float], None] = time.sleep,
) -> SyncSummary:
    """Compute every selected segment and push it to its destinations (SPEC section 8).

    `compute` and `deliver` are the steps (compute_selected and sync_destination; Prefect tasks in
    flows.py); `http_sleep` is how retries of HTTP destinations wait (tests pass a recorder).
    """
    config = load_config(settings.segments_file)
    selected = config.select(segments)
    run_id = new_run_id()
    if dry_run and not settings.warehouse_path.exists():
        raise LifecycleError(f"no warehouse at {settings.warehouse_path}", hint="run `lifecycle run` first")
    with open_warehouse(settings, read_only=dry_run) as con:
        audiences = compute(settings, con, [s.name for s in selected], config)
        as_of = warehouse_as_of(con)
        summary = SyncSummary(run_id=run_id, dry_run=dry_run, as_of=as_of)
        if not dry_run:
            ensure_schema(con)
            start_run(con, run_id, as_of, [s.name for s in selected])
            # Erased persons' vendor deletions that could not be sent at erasure time, first.
            erasure = vendor_erasure.send(settings, con, logger=logger, sleep=http_sleep)
            summary.erasure_lines = erasure.lines()
            import_history(con, settings.raw_dir, config, settings.holdout_salt, run_id)
        # Held-out persons (segments with `holdout`) leave the audience here, before any destination.
        audiences, held_out = apply_holdouts(
            con, config, audiences, salt=settings.holdout_salt, record=not dry_run, as_of=as_of, run_id=run_id
        )
        for seg in selected:
            left_out = left_out_counts(con, seg, audiences[seg.name], held_out.get(seg.name))
            for dest_name in seg.destinations:
                dest = config.destinations[dest_name]
                row = deliver(
                    settings, con, dest, seg, audiences[seg.name],
                    run_id=run_id, as_of=as_of, dry_run=dry_run, left_out=left_out, http_sleep=http_sleep,
                )  # fmt: skip
                summary.results.append(row)
        if not dry_run:
            finish_run(con, run_id, "ok" if summary.ok else "partial", summary.to_rows())
    logger.info("sync %s finished: %s", run_id, "ok" if summary.ok else "partial failure")
    return summary
