"""Erasure at the vendors: a person erased here is deleted in every channel Lifecycle pushed them to.

SPEC 10 asks that an erased person leave every destination. Files and the published copy are
scrubbed in place (erase.py), and an `http` destination gets the removal by record key at the next
sync. A channel API (Mailchimp, Klaviyo, HubSpot, Google Customer Match, Meta) can only find the
person by the identifier it was sent, which is exactly what the erasure redacts from sync state. So,
in the same transaction as the redaction, the erasure moves each erased person's state row of a
pushing channel destination into `privacy.vendor_erasures`, keeping only the identifiers that
vendor needs (`Channel.erase_identifiers`: Mailchimp's subscriber hash, the address for Klaviyo
and HubSpot, the hashes Google and Meta received). Right after the commit, and again at the start
of every later sync until the vendor confirms, `send` calls each vendor's privacy deletion
(`Channel.erase`, documented in channel_apis.py). A confirmed row is deleted, and with it the last
copy of the identifier; a failed one stays with its status and an error text from which any
address is removed.

Schema `privacy` is the erasure's own bookkeeping, which redaction never touches (pii.SKIP_SCHEMAS).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from flows.activation import state
from flows.privacy import pii
from flows.settings import Settings
from flows.warehouse import relation_exists

QUEUE = "privacy.vendor_erasures"
DDL = f"""
create schema if not exists privacy;
create table if not exists {QUEUE} (
    destination     varchar not null,
    segment         varchar not null,
    record_key      varchar not null,  -- the erased person's person_id at the time of the sync
    identifiers     json not null,     -- only what the vendor needs to find the person
    batch_id        varchar not null,  -- the erasure batch (privacy.erasure_log)
    queued_at       timestamp not null,
    attempts        integer not null,
    last_status     integer,
    last_error      varchar,           -- no address, no secret
    last_attempt_at timestamp
);
"""
_EMAIL = re.compile(pii.EMAIL_TOKEN)
LOG = logging.getLogger("lifecycle.erasure")


def pushing_channels(settings: Settings) -> dict[str, Any]:
    """{destination name: config} of the channel destinations that push to a vendor's API."""
    from flows.activation.config import load_config
    from flows.activation.destinations.channel_formats import CHANNEL_TYPES

    config = load_config(settings.segments_file)
    return {n: d for n, d in config.destinations.items() if d.type in CHANNEL_TYPES and d.push}


def queue(
    con: duckdb.DuckDBPyConnection,
    channels: dict[str, Any],
    person_ids: list[str],
    batch_id: str,
) -> int:
    """Move the erased persons' sync state of pushing channels into the queue (inside the caller's
    transaction, before the redaction). Returns the number of queued deletions.

    Row by row in Python on purpose: it reads only the erased persons' state rows (a handful), and
    each vendor's identifier rule (a hash for Mailchimp) lives with the vendor in channel_apis.py.
    """
    from flows.activation.destinations.channel_apis import CHANNELS

    con.execute(DDL)
    if not person_ids or not channels or not relation_exists(con, "sync.record_state"):
        return 0
    rows = con.execute(
        """
        select destination, segment, record_key, cast(record as varchar)
        from sync.record_state
        where record_key in (select unnest(?)) and destination in (select unnest(?))
        """,
        [person_ids, list(channels)],
    ).fetchall()
    now = state.now()
    queued = []
    for destination, segment, key, record in rows:
        data = json.loads(record) if record else {}
        ids = CHANNELS[channels[destination].type].erase_identifiers(data or {})
        if not ids:  # the vendor never got an identifier of this person (nothing to delete there)
            continue
        queued.append([destination, segment, key, json.dumps(ids), batch_id, now, 0])
    if queued:
        con.executemany(
            f"insert into {QUEUE} (destination, segment, record_key, identifiers, batch_id, queued_at, "
            "attempts) values (?, ?, ?, ?, ?, ?, ?)",
            queued,
        )
    # The queue owns the vendor removal now: a state row left behind would send a second removal
    # at the next sync, with its identifiers already redacted.
    con.execute(
        """
        delete from sync.record_state
        where record_key in (select unnest(?)) and destination in (select unnest(?))
        """,
        [person_ids, list(channels)],
    )
    return len(queued)


def pending(con: duckdb.DuckDBPyConnection) -> int:
    if not relation_exists(con, QUEUE):
        return 0
    return int(con.execute(f"select count(*) from {QUEUE}").fetchall()[0][0])


@dataclass
class VendorErasureReport:
    """Counts per destination and the reasons of what is still pending (no personal data)."""

    deleted: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [
            f"erasure: {n} person(s) deleted at destination {d!r}" for d, n in sorted(self.deleted.items())
        ]
        out += [
            f"erasure: {n} deletion(s) pending at destination {d!r} ({self.reasons.get(d, 'failed')}); "
            "retried at every sync until the vendor confirms"
            for d, n in sorted(self.pending.items())
        ]
        return out


def _scrub(text: str) -> str:
    return _EMAIL.sub("[address]", text or "")[:500]


def send(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    *,
    logger: logging.Logger | logging.LoggerAdapter = LOG,
    sleep: Callable[[float], None] | None = None,
    channels: dict[str, Any] | None = None,
) -> VendorErasureReport:
    """Send every queued vendor deletion; delete what the vendor confirmed, keep the rest."""
    import time

    from flows.activation.credentials import channel_credentials, skip_reason
    from flows.activation.destinations.channel_apis import open_channel
    from flows.activation.destinations.http import BatchOutcome, Record
    from flows.activation.state import new_run_id
    from flows.errors import LifecycleError

    report = VendorErasureReport()
    if not pending(con):
        return report
    reason = "the destination is no longer in segments.yml as a pushing channel"
    if channels is None:
        try:
            channels = pushing_channels(settings)
        except Exception as exc:  # noqa: BLE001 - a broken segments file must not stop the erasure
            channels = {}
            reason = f"segments file unreadable: {LifecycleError.describe(exc)}"
    rows = con.execute(
        f"select rowid, destination, segment, record_key, cast(identifiers as varchar) from {QUEUE} "
        "order by destination, segment, record_key"
    ).fetchall()
    groups: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
    for rowid, destination, segment, key, ids in rows:
        groups.setdefault((destination, segment), []).append((rowid, key, ids))
    run_id = new_run_id()
    now = state.now()
    for (destination, segment), items in groups.items():
        dest = channels.get(destination)
        failures: list[tuple[int, int | None, str]] = []
        done: list[int] = []
        if dest is None:
            failures = [(rowid, None, reason) for rowid, _, _ in items]
        else:
            try:
                missing = skip_reason(dest)
            except LifecycleError as exc:
                missing = LifecycleError.describe(exc)
            if missing:
                failures = [(rowid, None, missing.removeprefix("skipped: ")) for rowid, _, _ in items]
            else:
                token, developer, base_url = channel_credentials(dest)
                channel, sender = open_channel(
                    dest,
                    segment,
                    token=token or "",
                    base_url=base_url,
                    run_id=run_id,
                    logger=logger,
                    developer_token=developer,
                    sleep=sleep or time.sleep,
                )
                by_key = {key: rowid for rowid, key, _ in items}
                records = [Record("delete", key, None, ids) for _, key, ids in items]
                outcome = BatchOutcome()
                try:
                    channel.erase(sender, records, outcome)
                except Exception as exc:  # noqa: BLE001 - keep the queue; report the cause
                    outcome.dead.extend((r, None, sender.redact(str(exc))) for r in records)
                    outcome.delivered = []
                finally:
                    sender.close()
                done = [by_key[r.key] for r in outcome.delivered]
                failures = [
                    (by_key[r.key], status, sender.redact(error)) for r, status, error in outcome.dead
                ]
        if done:
            con.execute(f"delete from {QUEUE} where rowid in (select unnest(?))", [done])
            report.deleted[destination] = report.deleted.get(destination, 0) + len(done)
        if failures:
            con.executemany(
                f"update {QUEUE} set attempts = attempts + 1, last_status = ?, last_error = ?, "
                "last_attempt_at = ? where rowid = ?",
                [[status, _scrub(error), now, rowid] for rowid, status, error in failures],
            )
            report.pending[destination] = report.pending.get(destination, 0) + len(failures)
            first = failures[0]
            report.reasons[destination] = _scrub(
                f"HTTP {first[1]}: {first[2]}" if first[1] is not None else first[2]
            )
    for line in report.lines():
        (logger.warning if "pending" in line else logger.info)("%s", line)
    return report
