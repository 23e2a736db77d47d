"""The `http` destination: JSON batches POSTed with an Idempotency-Key (SPEC section 8).

Delivery is at least once on the wire and exactly once at a receiver that honours Idempotency-Key:
- the key is the sha256 of the batch content (op, key and record hash of each record), so a retry,
  within this run or the next, carries the same key and a receiver that already applied it can
  answer without applying it twice (this is what makes a timeout safe to retry);
- 429, 5xx, timeouts and connection errors are retried with exponential backoff, waiting at least
  `Retry-After` when the server sends it;
- any other 4xx means some record is bad: the batch is split in halves until the bad record is
  alone, so one bad record never blocks its neighbours; it goes to the dead-letter table;
- a per-destination rate limit spaces request starts.
Only confirmed records move sync state forward, so the next run re-sends exactly what changed or
failed. Every error text passes the Redactor: tokens and credential URLs never reach logs or tables.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import polars as pl

from flows.activation.config import DestinationConfig
from flows.activation.credentials import Redactor, display_url
from flows.activation.destinations import DeliveryResult
from flows.activation.state import KEY, Diff

RETRYABLE_STATUS = {408, 425, 429}
# 4xx that blame the content: bisect to isolate the bad record. Any other 4xx (401, 403, 404, ...)
# blames the destination itself: stop sending and fail the rest rather than bisect into 2N requests.
RECORD_LEVEL_STATUS = {400, 409, 413, 422}
MAX_RETRY_AFTER_SECONDS = 600.0
USER_AGENT = "lifecycle-activation/0.1"


@dataclass
class Record:
    op: str  # upsert | delete
    key: str
    record_hash: str | None
    body: str  # JSON text of the exported row ("null" for deletes)


@dataclass
class BatchOutcome:
    delivered: list[Record] = field(default_factory=list)
    dead: list[tuple[Record, int | None, str]] = field(default_factory=list)  # record, status, error


class RateLimiter:
    """Spaces request starts at least 1/rate seconds apart.

    `for_destination` shares one limiter per destination name in the process, so several segments
    pushed to the same tool one after another still respect that tool's limit together.
    """

    _shared: dict[str, RateLimiter] = {}

    def __init__(self, per_second: float, sleep: Callable[[float], None], clock: Callable[[], float]):
        self.interval = 1.0 / per_second
        self.sleep = sleep
        self.clock = clock
        self.next_at = 0.0

    @classmethod
    def for_destination(
        cls, name: str, per_second: float, sleep: Callable[[float], None], clock: Callable[[], float]
    ) -> RateLimiter:
        limiter = cls._shared.get(name)
        if limiter is None or limiter.interval != 1.0 / per_second or limiter.clock is not clock:
            limiter = cls._shared[name] = cls(per_second, sleep, clock)
        limiter.sleep = sleep
        return limiter

    def wait(self) -> None:
        now = self.clock()
        if now < self.next_at:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def idempotency_key(destination: str, segment: str, records: list[Record]) -> str:
    h = hashlib.sha256(f"{destination}\n{segment}\n".encode())
    for r in records:
        h.update(f"{r.op}\t{r.key}\t{r.record_hash or ''}\n".encode())
    return h.hexdigest()


def batch_body(segment: str, run_id: str, records: list[Record]) -> bytes:
    # Records are already canonical JSON text from the warehouse; they are spliced, not re-encoded.
    items = ",".join(
        f'{{"op":{json.dumps(r.op)},"key":{json.dumps(r.key)},"data":{r.body}}}' for r in records
    )
    return f'{{"segment":{json.dumps(segment)},"run_id":{json.dumps(run_id)},"records":[{items}]}}'.encode()


class RedactingFilter(logging.Filter):
    """Redacts secrets in records of third-party loggers: httpx logs every request's full URL."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = ()
        return True


LIBRARY_LOGGERS = ("httpx", "httpcore")


# A vendor request for a batch: (method, url, body, extra headers); see channel_apis.py.
RequestBuilder = Callable[[list[Record]], tuple[str, str, bytes | None, dict[str, str]]]
# Per-record rejections a vendor reports inside a 2xx answer: record key -> error text.
RejectionParser = Callable[[httpx.Response, list[Record]], dict[str, str]]


class HttpSender:
    """Sends records in batches with retries, bisection of bad batches and a rate limit.

    The generic `http` destination POSTs `batch_body` to one URL; channel destinations
    (channel_apis.py) reuse the same retry, rate-limit, bisection and redaction machinery with their
    own request shape (`request`), auth headers and per-record error reports (`rejected`).
    """

    def __init__(
        self,
        dest: DestinationConfig,
        url: str,
        token: str | None,
        *,
        logger: logging.Logger | logging.LoggerAdapter,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
        auth_headers: dict[str, str] | None = None,
        secrets: tuple[str | None, ...] = (),
    ) -> None:
        self.dest = dest
        self.url = url
        self.redact = Redactor(url, token, *secrets, *(auth_headers or {}).values())
        self.logger = logger
        self.sleep = sleep
        self.limiter = RateLimiter.for_destination(dest.name, dest.rate_limit_per_second, sleep, clock)
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if auth_headers is not None:
            headers.update(auth_headers)
        elif token:
            headers["Authorization"] = f"Bearer {token}"
        self.client = httpx.Client(
            headers=headers, timeout=dest.timeout_seconds, transport=transport, follow_redirects=False
        )
        self.requests = 0
        self.log_filter = RedactingFilter(self.redact)
        for name in LIBRARY_LOGGERS:
            logging.getLogger(name).addFilter(self.log_filter)
        self.fatal: tuple[int | None, str] | None = None

    def close(self) -> None:
        self.client.close()
        for name in LIBRARY_LOGGERS:
            logging.getLogger(name).removeFilter(self.log_filter)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        exp = min(self.dest.backoff_max_seconds, self.dest.backoff_base_seconds * (2**attempt))
        delay = exp * (0.5 + random.random() / 2)  # jitter, so many clients do not retry in step
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
        return delay

    def _post(self, segment: str, run_id: str, records: list[Record]) -> tuple[int | None, str]:
        """One generic batch, retried while retryable. Returns (final status or None, error text)."""
        key = idempotency_key(self.dest.name, segment, records)
        body = batch_body(segment, run_id, records)
        status, _, error = self.call("POST", self.url, body, {"Idempotency-Key": key}, len(records))
        return status, error

    def call(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str], size: int = 1
    ) -> tuple[int | None, httpx.Response | None, str]:
        """One request, retried on 429/5xx/timeouts (honouring Retry-After) within the rate limit.

        Returns (final status or None, the final response or None, redacted error text or '').
        """
        last_error = ""
        for attempt in range(self.dest.max_retries + 1):
            self.limiter.wait()
            self.requests += 1
            retry_after = None
            try:
                resp = self.client.request(method, url, content=body, headers=headers)
            except httpx.TransportError as exc:  # timeouts, refused connections, resets
                status, last_error = None, f"{type(exc).__name__}: {exc}"
            else:
                status = resp.status_code
                if 200 <= status < 300:
                    return status, resp, ""
                last_error = f"HTTP {status}: {resp.text[:300]}"
                if not (status in RETRYABLE_STATUS or status >= 500):
                    return status, resp, self.redact(last_error)
                retry_after = retry_after_seconds(resp.headers.get("Retry-After"))
            if attempt < self.dest.max_retries:
                delay = self._backoff(attempt, retry_after)
                self.logger.warning(
                    "destination %s: batch of %d failed (%s), retry %d/%d in %.2fs",
                    self.dest.name,
                    size,
                    self.redact(last_error),
                    attempt + 1,
                    self.dest.max_retries,
                    delay,
                )
                self.sleep(delay)
        return (
            None,
            None,
            self.redact(f"gave up after {self.dest.max_retries + 1} attempts: {last_error}"),
        )

    def send(
        self,
        segment: str,
        run_id: str,
        records: list[Record],
        outcome: BatchOutcome,
        request: RequestBuilder | None = None,
        rejected: RejectionParser | None = None,
    ) -> None:
        """Deliver one batch; a permanent 4xx is bisected to isolate the bad record(s).

        `request`/`rejected` give a vendor's request shape and per-record report in a 2xx answer
        (Mailchimp `errors[]`, HubSpot 207, Meta `invalid_entry_samples`); by default the generic
        JSON batch with an Idempotency-Key.
        """
        if not records:
            return
        if self.fatal is not None:
            outcome.dead.extend((r, *self.fatal) for r in records)
            return
        if request is None:
            status, error = self._post(segment, run_id, records)
            resp = None
        else:
            method, url, body, headers = request(records)
            status, resp, error = self.call(method, url, body, headers, len(records))
        if status is not None and 200 <= status < 300:
            bad = rejected(resp, records) if rejected is not None and resp is not None else {}
            for r in records:
                if r.key in bad:
                    outcome.dead.append((r, status, self.redact(bad[r.key])))
                else:
                    outcome.delivered.append(r)
        elif status is not None and status not in RECORD_LEVEL_STATUS:
            self.fatal = (status, error)
            outcome.dead.extend((r, status, error) for r in records)
        elif status is not None and len(records) > 1:
            # A permanent 4xx for a batch: find the bad record(s) by bisection.
            mid = len(records) // 2
            self.send(segment, run_id, records[:mid], outcome, request, rejected)
            self.send(segment, run_id, records[mid:], outcome, request, rejected)
        else:
            outcome.dead.extend((r, status, error) for r in records)


def diff_records(diff: Diff, delete_bodies: bool = False) -> list[Record]:
    """Upserts (adds and changes) then deletes (removes), in key order.

    `delete_bodies`: deletes carry the record as last synced (channels remove by identifier).
    """
    upserts = pl.concat([diff.adds, diff.changes]).sort(KEY)
    records = [
        Record("upsert", k, h, b)
        for k, h, b in zip(
            upserts[KEY].to_list(), upserts["record_hash"].to_list(), upserts["record"].to_list(), strict=True
        )
    ]
    removes = diff.removes.sort(KEY)
    bodies = removes["record"].to_list() if delete_bodies else ["null"] * removes.height
    records += [
        Record("delete", k, None, b or "null") for k, b in zip(removes[KEY].to_list(), bodies, strict=True)
    ]
    return records


def deliver_http(
    dest: DestinationConfig,
    diff: Diff,
    *,
    url: str,
    token: str | None,
    run_id: str,
    logger: logging.Logger | logging.LoggerAdapter,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> DeliveryResult:
    sender = HttpSender(dest, url, token, logger=logger, sleep=sleep, transport=transport)
    records = diff_records(diff)
    outcome = BatchOutcome()
    try:
        for start in range(0, len(records), dest.batch_size):
            sender.send(diff.segment, run_id, records[start : start + dest.batch_size], outcome)
    finally:
        sender.close()
    return delivery_result(diff, records, outcome, sender, logger, display_url(url))


def delivery_result(
    diff: Diff,
    records: list[Record],
    outcome: BatchOutcome,
    sender: HttpSender,
    logger: logging.Logger | logging.LoggerAdapter,
    where: str,
) -> DeliveryResult:
    """What the destination confirmed, its dead letters and the run status (ok/partial/failed)."""
    dest = sender.dest
    delivered_upserts = [r.key for r in outcome.delivered if r.op == "upsert"]
    delivered_deletes = [r.key for r in outcome.delivered if r.op == "delete"]
    upserted = diff.current.filter(pl.col(KEY).is_in(delivered_upserts)).select(KEY, "record_hash", "record")
    letters: list[dict[str, Any]] = [
        {
            KEY: r.key,
            "record_hash": r.record_hash,
            "op": r.op,
            "record": None if r.op == "delete" else r.body,
            "status_code": status,
            "error": sender.redact(error)[:1000],
        }
        for r, status, error in outcome.dead
    ]
    failures = len(outcome.dead)
    status = "ok" if failures == 0 else ("failed" if not outcome.delivered else "partial")
    error = None
    if failures:
        error = sender.redact(
            f"{failures} of {len(records)} records failed for {where}; see sync.dead_letters"
        )
    logger.info(
        "destination %s (%s): %d sent, %d failed, %d requests",
        dest.name,
        where,
        len(outcome.delivered),
        failures,
        sender.requests,
    )
    return DeliveryResult(
        status=status,
        upserted=upserted,
        removed_keys=delivered_deletes,
        dead_letters=letters,
        failures=failures,
        error=error,
        detail={"requests": sender.requests, "sent": len(outcome.delivered)},
    )
