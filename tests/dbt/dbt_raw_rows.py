"""Tiny raw-layer writers for dbt tests: real rows in the real raw tables of a fresh warehouse.

Each helper builds the original message the way the source sends it (so staging's JSON extraction
is exercised) plus the typed columns ingest would extract, and inserts it with lineage columns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb

LOADED_AT = datetime(2026, 11, 1)


def ts(day: float, base: datetime = datetime(2026, 1, 1)) -> datetime:
    """A timestamp `day` days after 2026-01-01: tests read as a timeline."""
    return base + timedelta(days=day)


@dataclass
class RawBatch:
    """Rows for the raw tables, inserted in one go with `write`."""

    segment: list[tuple] = field(default_factory=list)
    sendgrid: list[tuple] = field(default_factory=list)
    tickets: list[tuple] = field(default_factory=list)
    users: list[tuple] = field(default_factory=list)
    erasure: list[tuple] = field(default_factory=list)
    _n: int = 0

    def _line(self) -> int:
        self._n += 1
        return self._n

    def web(
        self,
        message_id: str,
        type_: str,
        at: datetime,
        *,
        anon: str | None = None,
        user: str | None = None,
        event: str | None = None,
        previous_id: str | None = None,
        traits: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
    ) -> RawBatch:
        msg: dict[str, Any] = {"messageId": message_id, "type": type_, "timestamp": at.isoformat() + "Z"}
        for key, value in (
            ("anonymousId", anon),
            ("userId", user),
            ("event", event),
            ("previousId", previous_id),
        ):
            if value is not None:
                msg[key] = value
        for key, value in (("traits", traits), ("properties", properties), ("context", context)):
            if value:
                msg[key] = value
        self.segment.append(
            (
                message_id,
                type_,
                event,
                anon,
                user,
                previous_id,
                at,
                json.dumps(msg),
                "web/t.jsonl",
                self._line(),
                LOADED_AT,
            )
        )
        return self

    def order(
        self,
        message_id: str,
        at: datetime,
        order_id: str,
        total: float,
        *,
        user: str,
        products: list[dict[str, Any]] | None = None,
    ) -> RawBatch:
        props: dict[str, Any] = {"order_id": order_id, "total": total, "currency": "USD"}
        props["products"] = products or [
            {"product_id": "P101", "sku": "RUN-SHOE-1", "price": total, "quantity": 1}
        ]
        return self.web(message_id, "track", at, user=user, event="Order Completed", properties=props)

    def email(
        self,
        sg_event_id: str,
        event: str,
        address: str,
        at: datetime,
        *,
        bounce_type: str | None = None,
        campaign: str = "Spring",
        sg_message_id: str | None = None,
    ) -> RawBatch:
        msg = {
            "sg_event_id": sg_event_id,
            "event": event,
            "email": address,
            "timestamp": int(at.timestamp()),
            "category": [campaign],
        }
        if bounce_type:
            msg["type"] = bounce_type
        if sg_message_id:
            msg["sg_message_id"] = sg_message_id
        self.sendgrid.append(
            (
                sg_event_id,
                event,
                address,
                at,
                sg_message_id,
                bounce_type,
                None,
                None,
                json.dumps([campaign]),
                None,
                None,
                json.dumps(msg),
                "email/t.json",
                self._line(),
                LOADED_AT,
            )
        )
        return self

    def ticket(
        self,
        ticket_id: int,
        requester_id: int,
        created: datetime,
        *,
        status: str = "open",
        priority: str = "normal",
        updated: datetime | None = None,
        score: str | None = None,
    ) -> RawBatch:
        updated = updated or created
        rec = {"id": ticket_id, "requester_id": requester_id, "status": status, "priority": priority}
        self.tickets.append(
            (
                ticket_id,
                requester_id,
                status,
                priority,
                "web",
                "help",
                created,
                updated,
                score,
                json.dumps(rec),
                "tickets/t.json",
                self._line(),
                LOADED_AT,
            )
        )
        return self

    def zendesk_user(self, user_id: int, address: str | None, created: datetime | None) -> RawBatch:
        rec = {"id": user_id, "email": address}
        self.users.append(
            (
                user_id,
                address,
                None,
                None,
                created,
                created,
                json.dumps(rec),
                "tickets/u.json",
                self._line(),
                LOADED_AT,
            )
        )
        return self

    def write(self, con: duckdb.DuckDBPyConnection, loaded_at: datetime = LOADED_AT) -> None:
        def fix(rows: list[tuple]) -> list[tuple]:
            return [(*r[:-1], loaded_at) for r in rows]

        tables = {
            "raw.segment_events": self.segment,
            "raw.sendgrid_events": self.sendgrid,
            "raw.zendesk_tickets": self.tickets,
            "raw.zendesk_users": self.users,
        }
        for table, rows in tables.items():
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                con.executemany(f"insert into {table} values ({marks})", fix(rows))
        for address, requested_at in self.erasure:
            con.execute(
                "insert into raw.erasure_requests values (?, ?, 'erasure/e.csv', 1, ?)",
                [address, requested_at, loaded_at],
            )
