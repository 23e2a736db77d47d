"""Fixtures for ingest tests: small hand-written raw files in the documented shapes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest


def seg(i: int, **over: Any) -> dict[str, Any]:
    """A valid Segment track message (SPEC 4.1 required fields), with overrides."""
    msg: dict[str, Any] = {
        "messageId": f"m-{i}",
        "type": "track",
        "event": "Product Viewed",
        "anonymousId": f"anon-{i % 7}",
        "timestamp": f"2026-01-01T00:{i % 60:02d}:00Z",
        "context": {"campaign": {"source": "google", "medium": "cpc"}},
        "properties": {"product_id": "p1"},
    }
    msg.update(over)
    return {k: v for k, v in msg.items() if v is not None}


def sg(i: int, event: str = "delivered", **over: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "email": f"user{i}@example.com",
        "timestamp": 1767225600 + i,
        "event": event,
        "sg_event_id": f"ev-{i}",
        "sg_message_id": f"msg-{i}",
        "category": "newsletter",
    }
    ev.update(over)
    return {k: v for k, v in ev.items() if v is not None}


def ticket(i: int, updated: str, **over: Any) -> dict[str, Any]:
    """A Zendesk ticket version (SPEC 4.3 fields), with overrides."""
    t = {
        "id": i,
        "requester_id": 100 + i,
        "status": "open",
        "priority": "high",
        "via": {"channel": "email"},
        "subject": f"t{i}",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": updated,
        "satisfaction_rating": {"score": "good"},
        "custom_thing": 1,
    }
    t.update(over)
    return t


def write_jsonl(path: Path, rows: list[Any], *, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_json(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2))
    return path


def query(settings, sql: str, params: list | None = None) -> list[tuple]:
    from flows.warehouse import fetch_all, open_warehouse

    with open_warehouse(settings, read_only=True) as con:
        return fetch_all(con, sql, params)


@pytest.fixture
def raw(settings) -> Path:
    settings.raw_dir.mkdir(parents=True, exist_ok=True)
    return settings.raw_dir
