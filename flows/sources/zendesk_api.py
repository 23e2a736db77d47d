"""Zendesk incremental cursor export over HTTP (SPEC 4.3 API mode).

Each page is committed in one transaction together with its manifest row and the cursor that
follows it, so a run killed at any moment resumes from the last committed page: no gap (the
cursor never runs ahead of the data) and no duplicate (a re-fetched page is de-duplicated on
(id, updated_at) anyway). 429 honours `Retry-After`; 5xx, connection errors and truncated or
malformed bodies are retried with exponential backoff; after that the run fails with one clear
line and everything committed so far stays.

Token auth is basic auth "{email}/token:{token}"; the token is never logged or put in errors.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import httpx

from flows.errors import LifecycleError
from flows.settings import Settings
from flows.sources import records
from flows.sources.ingest import utc_now
from flows.sources.loader import Planned, commit_load, parse
from flows.sources.specs import TICKETS
from flows.sources.summary import SourceSummary

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoint:
    name: str  # key in raw.api_cursors
    path: str
    items_key: str


# Incremental cursor exports (tickets, users) as documented by Zendesk.
ENDPOINTS = (
    Endpoint("incremental/tickets/cursor", "/api/v2/incremental/tickets/cursor.json", "tickets"),
    Endpoint("incremental/users/cursor", "/api/v2/incremental/users/cursor.json", "users"),
)


class ZendeskApiError(LifecycleError):
    """The Zendesk API failed after retries."""


def _client(settings: Settings) -> httpx.Client:
    if not (settings.zendesk_email and settings.zendesk_api_token):
        raise LifecycleError(
            "Zendesk API mode needs ZENDESK_EMAIL and ZENDESK_API_TOKEN",
            hint="set them (and ZENDESK_SUBDOMAIN) in the environment or .env",
        )
    base = settings.zendesk_base_url
    if not base:
        if not settings.zendesk_subdomain:
            raise LifecycleError("Zendesk API mode needs ZENDESK_SUBDOMAIN", hint="set it in the environment")
        base = f"https://{settings.zendesk_subdomain}.zendesk.com"
    auth = httpx.BasicAuth(f"{settings.zendesk_email}/token", settings.zendesk_api_token.get_secret_value())
    return httpx.Client(base_url=base.rstrip("/"), auth=auth, timeout=30.0)


def fetch_page(
    client: httpx.Client,
    path: str,
    params: dict[str, str],
    *,
    max_attempts: int = 6,
    backoff: float = 0.5,
    max_retry_after: float = 120.0,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, dict]:
    """GET one page; returns (body text, parsed JSON). Retries what is worth retrying."""
    last = "no attempt"
    for attempt in range(1, max_attempts + 1):
        try:
            resp = client.get(path, params=params)
            body = resp.text if resp.status_code < 400 else ""
        except (httpx.TransportError, httpx.DecodingError) as exc:  # includes truncated bodies
            last = f"{type(exc).__name__}"
            sleep(backoff * 2 ** (attempt - 1))
            continue
        if resp.status_code == 429:
            wait = _retry_after(resp.headers.get("Retry-After"), backoff * 2 ** (attempt - 1))
            last = f"HTTP 429 (Retry-After {resp.headers.get('Retry-After')})"
            log.warning("zendesk rate limited on %s, waiting %.1fs", path, wait)
            sleep(min(wait, max_retry_after))
            continue
        if resp.status_code >= 500:
            last = f"HTTP {resp.status_code}"
            sleep(backoff * 2 ** (attempt - 1))
            continue
        if resp.status_code >= 400:
            raise ZendeskApiError(
                f"Zendesk API {path} answered HTTP {resp.status_code}",
                hint="check ZENDESK_SUBDOMAIN/EMAIL/API_TOKEN" if resp.status_code in (401, 403) else None,
            )
        try:
            doc = json.loads(body)
            if not isinstance(doc, dict):
                raise ValueError("not an object")
        except ValueError:
            last = "malformed or truncated JSON body"
            sleep(backoff * 2 ** (attempt - 1))
            continue
        return body, doc
    raise ZendeskApiError(
        f"Zendesk API {path} failed after {max_attempts} attempts (last: {last})",
        hint="re-run later: ingest resumes from the last committed page",
    )


def _retry_after(value: str | None, default: float) -> float:
    if value is None:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        return default


def _get_cursor(con: duckdb.DuckDBPyConnection, endpoint: str) -> str | None:
    rows = con.execute("select cursor from raw.api_cursors where endpoint = ?", [endpoint]).fetchall()
    return rows[0][0] if rows else None


def ingest_endpoint(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    client: httpx.Client,
    endpoint: Endpoint,
    *,
    start_time: int = 0,
    max_pages: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SourceSummary:
    """Follow one cursor export to `end_of_stream`, committing page by page."""
    summary = SourceSummary("tickets")
    con.execute("set TimeZone = 'UTC'")
    tmp_dir = settings.root
    pages = 0
    while max_pages is None or pages < max_pages:
        cursor = _get_cursor(con, endpoint.name)
        params = {"cursor": cursor} if cursor else {"start_time": str(start_time)}
        body, doc = fetch_page(client, endpoint.path, params, sleep=sleep)
        after = doc.get("after_cursor")
        rel = f"api:{endpoint.name}?" + (f"cursor={cursor}" if cursor else f"start_time={start_time}")
        records.create_records(con)
        staged = records.stage_document_text(con, body, len(body.encode()), Path(tmp_dir), zendesk=True)
        plan = Planned(rel, staged.complete_size, 0, hashlib.sha256(body.encode()).hexdigest())
        parsed = parse(con, TICKETS, 1)
        # The cursor moves in the same transaction as the page's rows.
        result = commit_load(
            con,
            TICKETS,
            plan,
            parsed,
            utc_now(),
            extra_sql=[
                (
                    "insert or replace into raw.api_cursors values (?, ?, ?)",
                    [endpoint.name, after or cursor, utc_now()],
                )
            ],
        )
        summary.add(result)
        pages += 1
        if doc.get("end_of_stream", True) or not after or after == cursor:
            break
    return summary


def ingest_api(settings: Settings, con: duckdb.DuckDBPyConnection | None = None) -> SourceSummary:
    """All configured Zendesk endpoints, from their stored cursors."""
    from flows.warehouse import connect

    own = con is None
    con = con or connect(settings)
    total = SourceSummary("tickets")
    try:
        with _client(settings) as client:
            for endpoint in ENDPOINTS:
                part = ingest_endpoint(con, settings, client, endpoint)
                for r in part.results:
                    total.add(r)
    finally:
        if own:
            con.close()
    return total
