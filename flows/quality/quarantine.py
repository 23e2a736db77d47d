"""`lifecycle quarantine --check CHECK`: move the rows that block a gate check into raw.rejects.

Why: a blocking gate failure, such as one Segment message dated 2099, blocked every later run, and
nothing told the user how to get past it. This command moves exactly the offending rows of one
check, with a reason, into `raw.rejects` (the quarantine every loader already uses; SPEC 4: nothing
is dropped silently), records what it did in `raw.quarantine_log`, and changes nothing else. A
file loads once (raw.load_manifest), so the rows do not come back on the next ingest.

Only checks listed in `QUARANTINABLE` can be used: each names its raw table and the predicate the
gate's suite uses. Email events are deliberately absent: an opt-out must never leave the warehouse
(SPEC 10), and the consent models read raw.sendgrid_events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flows.errors import LifecycleError
from flows.settings import Settings


@dataclass(frozen=True)
class Quarantinable:
    source: str  # raw.rejects.source
    table: str
    # DuckDB predicate over the table; $future_cutoff / $min_event_ts as the gate computes them
    predicate: str


QUARANTINABLE: dict[str, Quarantinable] = {
    "raw_web.timestamps_in_window": Quarantinable(
        source="web",
        table="raw.segment_events",
        predicate="ts > $future_cutoff or ts < $min_event_ts",
    ),
}

LOG_SQL = """
create table if not exists raw.quarantine_log (
    check_name     varchar not null,
    source_table   varchar not null,
    rows_moved     bigint not null,
    future_cutoff  timestamp,
    min_event_ts   timestamp,
    quarantined_at timestamp not null
)
"""


@dataclass
class QuarantineResult:
    check: str
    rows: int
    examples: list[str]

    def __str__(self) -> str:
        if not self.rows:
            return f"quarantine {self.check}: no offending rows, nothing moved"
        return (
            f"quarantine {self.check}: moved {self.rows} row(s) to raw.rejects with a reason "
            f"(e.g. {', '.join(self.examples)}); recorded in raw.quarantine_log"
        )


def _window(now: datetime) -> dict[str, Any]:
    from flows.quality.config import load_thresholds
    from flows.quality.gates import run_parameters

    params = run_parameters(load_thresholds(), now)
    return {"future_cutoff": params["future_cutoff"], "min_event_ts": params["min_event_ts"]}


def quarantine(settings: Settings, check: str, now: datetime | None = None) -> QuarantineResult:
    """Move `check`'s offending rows into raw.rejects in one transaction (all or nothing)."""
    import difflib

    from flows.warehouse import connect

    spec = QUARANTINABLE.get(check)
    if spec is None:
        close = difflib.get_close_matches(check, list(QUARANTINABLE), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(QUARANTINABLE)}"
        raise LifecycleError(f"--check {check!r} cannot be quarantined", hint=hint)
    if not settings.warehouse_path.exists():
        raise LifecycleError(
            f"no warehouse at {settings.warehouse_path}", hint="run `lifecycle ingest` first"
        )
    now = now or datetime.now(UTC).replace(tzinfo=None)
    window = _window(now)
    predicate = spec.predicate.replace("$future_cutoff", "$cutoff").replace("$min_event_ts", "$start")
    bind = {"cutoff": window["future_cutoff"], "start": window["min_event_ts"]}
    reason = (
        f"quarantined by `lifecycle quarantine --check {check}`: "
        f"timestamp ' || coalesce(cast(ts as varchar), 'null') || ' outside "
        f"[{window['min_event_ts']}, {window['future_cutoff']}]"
    )
    con = connect(settings)
    try:
        con.execute(LOG_SQL)
        con.execute("begin transaction")
        try:
            examples = [
                f"{f}:{line}"
                for f, line in con.execute(
                    f"select _file, _line from {spec.table} where {predicate} order by _file, _line limit 3",
                    bind,
                ).fetchall()
            ]
            con.execute(
                f"""
                insert into raw.rejects (source, _file, _line, reason, raw_text, _loaded_at)
                select '{spec.source}', _file, _line, '{reason}', cast(message as varchar), $now
                from {spec.table}
                where {predicate}
                """,
                {**bind, "now": now},
            )
            moved = con.execute(f"delete from {spec.table} where {predicate}", bind).fetchall()[0][0]
            con.execute(
                "insert into raw.quarantine_log values (?, ?, ?, ?, ?, ?)",
                [check, spec.table, moved, window["future_cutoff"], window["min_event_ts"], now],
            )
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
    finally:
        con.close()
    return QuarantineResult(check, int(moved), examples)


def blocking_hints(settings: Settings, failed_text: str, now: datetime | None = None) -> list[str]:
    """For each quarantinable check named in `failed_text` (a failed gate's output), one line naming
    the offending rows and the command that quarantines them. Read-only; never raises."""
    import duckdb

    lines = []
    for check, spec in QUARANTINABLE.items():
        if check not in failed_text or not settings.warehouse_path.exists():
            continue
        window = _window(now or datetime.now(UTC).replace(tzinfo=None))
        predicate = spec.predicate.replace("$future_cutoff", "$cutoff").replace("$min_event_ts", "$start")
        try:
            con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        except duckdb.Error:
            continue
        try:
            rows = con.execute(
                f"select _file, _line, count(*) over () from {spec.table} where {predicate} "
                "order by _file, _line limit 3",
                {"cutoff": window["future_cutoff"], "start": window["min_event_ts"]},
            ).fetchall()
        except duckdb.Error:
            continue
        finally:
            con.close()
        if rows:
            examples = ", ".join(f"{f}:{line}" for f, line, _ in rows)
            lines.append(
                f"{check} blocks on {rows[0][2]} row(s) of {spec.table} ({examples}); "
                f"`lifecycle quarantine --check {check}` moves them to raw.rejects with a reason"
            )
    return lines
