"""A tiny hand-made data set whose KPI values are computed by hand in tests/kpi/test_kpi_marts.py.

Seven persons, nine orders, two email campaigns, six tickets and a few spend rows, written as raw
rows (the contract of flows/sources/schema.sql), so the whole dbt project runs on them. as_of is
pinned to 2026-06-30 00:00 with the dbt var. The story, person by person:

P1 alice (u1): Google CPC visit 01-05 10:00, identify with email 10:05 (lead), orders O1 01-10
   10:05 (100), O2 02-15 12:00 (50), Bing CPC visit 06-15, O3 06-20 10:00 (80, 30 refunded).
P2 bob (u2): Google search referrer visit 01-20 08:00, identify 08:30, order O4 02-03 08:30 (200).
P3 carol (u3): Facebook visit 03-01 12:00, identify 12:10, clicks "Spring Sale" 03-09 12:10, orders
   O5 03-10 12:10 (60) and O6 04-10 12:10 (40).
P4 dave (u4): identify 03-15 09:00, never orders.
P5 anonymous a5: one page view 03-20.
P6 erin (u6): Google CPC visit 2025-11-30 10:00, identify 10:30, order O7 2025-12-01 10:30 (120),
   O8 2026-03-05 (70) fully refunded 03-06: not an order. Churns 2026-05-30.
P7 gina (u7): identify 03-20 10:00, order O9 03-25 10:00 (30).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import duckdb

AS_OF = "2026-06-30 00:00:00"
LOADED_AT = datetime(2026, 6, 30, 1, 0, 0)


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _segment(
    message_id: str,
    type_: str,
    ts: str,
    *,
    anon: str | None = None,
    user: str | None = None,
    event: str | None = None,
    email: str | None = None,
    campaign: tuple[str, str, str] | None = None,
    referrer: str | None = None,
    properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "messageId": message_id,
        "type": type_,
        "timestamp": ts.replace(" ", "T") + "Z",
        "context": {"page": {"url": "https://shop.example.com/", "path": "/"}},
    }
    if anon:
        message["anonymousId"] = anon
    if user:
        message["userId"] = user
    if event:
        message["event"] = event
    if email:
        message["traits"] = {"email": email}
    if campaign:
        source, medium, name = campaign
        message["context"]["campaign"] = {"source": source, "medium": medium, "name": name}
    if referrer:
        message["context"]["page"]["referrer"] = referrer
    if properties:
        message["properties"] = properties
    return {
        "message_id": message_id,
        "type": type_,
        "event": event,
        "anonymous_id": anon,
        "user_id": user,
        "previous_id": None,
        "ts": _ts(ts),
        "message": json.dumps(message),
    }


def _order(message_id: str, ts: str, user: str, order_id: str, total: float | None, refund: bool = False):
    props: dict[str, Any] = {"order_id": order_id, "currency": "USD"}
    if total is not None:
        props["total"] = total
    event = "Order Refunded" if refund else "Order Completed"
    return _segment(message_id, "track", ts, user=user, event=event, properties=props)


GOOGLE = ("google", "cpc", "brand")

SEGMENT = [
    # P1 alice
    _segment("w1", "page", "2026-01-05 10:00:00", anon="a1", campaign=GOOGLE),
    _segment("w2", "identify", "2026-01-05 10:05:00", anon="a1", user="u1", email="alice@example.com"),
    _order("w3", "2026-01-10 10:05:00", "u1", "O1", 100),
    _order("w4", "2026-02-15 12:00:00", "u1", "O2", 50),
    _segment("w5", "page", "2026-06-15 09:00:00", user="u1", campaign=("bing", "cpc", "summer")),
    _order("w6", "2026-06-20 10:00:00", "u1", "O3", 80),
    _order("w7", "2026-06-25 10:00:00", "u1", "O3", 30, refund=True),
    # P2 bob
    _segment("w8", "page", "2026-01-20 08:00:00", anon="a2", referrer="https://www.google.com/search?q=x"),
    _segment("w9", "identify", "2026-01-20 08:30:00", anon="a2", user="u2", email="bob@example.com"),
    _order("w10", "2026-02-03 08:30:00", "u2", "O4", 200),
    # P3 carol
    _segment("w11", "page", "2026-03-01 12:00:00", anon="a3", campaign=("facebook", "social", "spring")),
    _segment("w12", "identify", "2026-03-01 12:10:00", anon="a3", user="u3", email="carol@example.com"),
    _order("w13", "2026-03-10 12:10:00", "u3", "O5", 60),
    _order("w14", "2026-04-10 12:10:00", "u3", "O6", 40),
    # P4 dave, P5 anonymous
    _segment("w15", "identify", "2026-03-15 09:00:00", user="u4", email="dave@example.com"),
    _segment("w16", "page", "2026-03-20 15:00:00", anon="a5"),
    # P6 erin
    _segment("w17", "page", "2025-11-30 10:00:00", anon="a6", campaign=GOOGLE),
    _segment("w18", "identify", "2025-11-30 10:30:00", anon="a6", user="u6", email="erin@example.com"),
    _order("w19", "2025-12-01 10:30:00", "u6", "O7", 120),
    _order("w20", "2026-03-05 10:00:00", "u6", "O8", 70),
    _order("w21", "2026-03-06 10:00:00", "u6", "O8", None, refund=True),
    # P7 gina
    _segment("w22", "identify", "2026-03-20 10:00:00", user="u7", email="gina@example.com"),
    _order("w23", "2026-03-25 10:00:00", "u7", "O9", 30),
]
# At-least-once delivery: O1 arrives twice (same messageId) and must count once.
SEGMENT_DUPLICATES = [_order("w3", "2026-01-10 10:05:00", "u1", "O1", 100)]


def _sendgrid(
    sg_id: str,
    event: str,
    email: str,
    ts: str,
    campaign: tuple[str, str],
    bounce_type: str | None = None,
) -> dict[str, Any]:
    campaign_id, campaign_name = campaign
    unix = int(_ts(ts).timestamp() - datetime(1970, 1, 1).timestamp())
    message = {
        "sg_event_id": sg_id,
        "event": event,
        "email": email,
        "timestamp": unix,
        "marketing_campaign_id": campaign_id,
        "marketing_campaign_name": campaign_name,
    }
    if bounce_type:
        message["type"] = bounce_type
    return {
        "sg_event_id": sg_id,
        "event": event,
        "email": email,
        "ts": _ts(ts),
        "sg_message_id": f"{campaign_id}-{email}",  # one message per campaign and recipient
        "bounce_type": bounce_type,
        "marketing_campaign_id": campaign_id,
        "marketing_campaign_name": campaign_name,
        "category": json.dumps(["newsletter"]),
        "url": "https://shop.example.com/sale" if event == "click" else None,
        "asm_group_id": None,
        "message": json.dumps(message),
    }


SPRING = ("c1", "Spring Sale")
MAY = ("c2", "May News")
BLAST = ("c3", "Test Blast")
SENDGRID = [
    _sendgrid("e1", "processed", "alice@example.com", "2026-03-08 09:00:00", SPRING),
    _sendgrid("e2", "delivered", "alice@example.com", "2026-03-08 09:01:00", SPRING),
    _sendgrid("e3", "processed", "bob@example.com", "2026-03-08 09:00:00", SPRING),
    _sendgrid("e4", "delivered", "bob@example.com", "2026-03-08 09:01:00", SPRING),
    _sendgrid("e5", "processed", "carol@example.com", "2026-03-08 09:00:00", SPRING),
    _sendgrid("e6", "delivered", "carol@example.com", "2026-03-08 09:01:00", SPRING),
    _sendgrid("e7", "processed", "dave@example.com", "2026-03-08 09:00:00", SPRING),
    _sendgrid("e8", "bounce", "dave@example.com", "2026-03-08 09:01:00", SPRING, bounce_type="bounce"),
    _sendgrid("e9", "open", "alice@example.com", "2026-03-08 10:00:00", SPRING),
    _sendgrid("e10", "open", "alice@example.com", "2026-03-08 11:00:00", SPRING),
    _sendgrid("e11", "open", "carol@example.com", "2026-03-09 12:00:00", SPRING),
    _sendgrid("e12", "click", "carol@example.com", "2026-03-09 12:10:00", SPRING),
    _sendgrid("e13", "unsubscribe", "bob@example.com", "2026-03-09 08:00:00", SPRING),
    # A late open of the March campaign in May: it counts in the send month, March.
    _sendgrid("e14", "open", "alice@example.com", "2026-05-02 09:00:00", SPRING),
    _sendgrid("e15", "processed", "alice@example.com", "2026-05-05 09:00:00", MAY),
    _sendgrid("e16", "delivered", "alice@example.com", "2026-05-05 09:01:00", MAY),
    _sendgrid("e17", "processed", "carol@example.com", "2026-05-05 09:00:00", MAY),
    _sendgrid("e18", "delivered", "carol@example.com", "2026-05-05 09:01:00", MAY),
    _sendgrid("e19", "processed", "gina@example.com", "2026-05-05 09:00:00", MAY),
    _sendgrid("e20", "dropped", "gina@example.com", "2026-05-05 09:01:00", MAY),
    _sendgrid("e21", "open", "alice@example.com", "2026-05-05 10:00:00", MAY),
    _sendgrid("e22", "click", "alice@example.com", "2026-05-05 10:05:00", MAY),
    _sendgrid("e23", "spamreport", "carol@example.com", "2026-05-06 08:00:00", MAY),
    _sendgrid("e24", "group_unsubscribe", "carol@example.com", "2026-05-06 08:01:00", MAY),
    # A send that never reached anyone: nothing delivered, so its open rate is NULL.
    _sendgrid("e25", "processed", "dave@example.com", "2026-05-20 09:00:00", BLAST),
    _sendgrid("e26", "dropped", "dave@example.com", "2026-05-20 09:00:01", BLAST),
]
SENDGRID_DUPLICATES = [SENDGRID[1]]  # e2 delivered, posted twice

ZENDESK_USERS = [
    {"id": 101, "email": "alice@example.com", "name": "Alice"},
    {"id": 102, "email": "bob@example.com", "name": "Bob"},
    {"id": 103, "email": "carol@example.com", "name": "Carol"},
    {"id": 104, "email": "dave@example.com", "name": "Dave"},
]


def _ticket(
    ticket_id: int,
    requester: int,
    status: str,
    priority: str,
    channel: str,
    created: str,
    updated: str,
    score: str | None,
) -> dict[str, Any]:
    record = {
        "id": ticket_id,
        "requester_id": requester,
        "status": status,
        "priority": priority,
        "via": {"channel": channel},
        "created_at": created.replace(" ", "T") + "Z",
        "updated_at": updated.replace(" ", "T") + "Z",
        "satisfaction_rating": {"score": score} if score else None,
    }
    return {
        "id": ticket_id,
        "requester_id": requester,
        "status": status,
        "priority": priority,
        "via_channel": channel,
        "subject": f"ticket {ticket_id}",
        "created_at": _ts(created),
        "updated_at": _ts(updated),
        "satisfaction_score": score,
        "record": json.dumps(record),
    }


ZENDESK_TICKETS = [
    # T1: first version open, then solved with a good rating (the latest version wins).
    _ticket(1, 101, "open", "urgent", "email", "2026-04-06 09:00:00", "2026-04-06 09:00:00", None),
    _ticket(1, 101, "solved", "urgent", "email", "2026-04-06 09:00:00", "2026-04-06 11:00:00", "good"),
    _ticket(2, 102, "solved", "urgent", "email", "2026-04-07 10:00:00", "2026-04-07 20:00:00", "bad"),
    _ticket(3, 103, "open", "high", "web", "2026-04-08 09:00:00", "2026-04-08 14:00:00", "offered"),
    _ticket(4, 104, "new", "normal", "email", "2026-04-09 12:00:00", "2026-04-09 12:00:00", None),
    _ticket(5, 101, "deleted", "low", "email", "2026-04-14 09:00:00", "2026-04-14 10:00:00", None),
    _ticket(6, 103, "solved", "urgent", "email", "2026-04-10 08:00:00", "2026-04-13 02:40:00", "unoffered"),
]


def _metric(ticket_id: int, solved: str | None, replies: int, first_reply: int | None, full: int | None):
    record = {"ticket_id": ticket_id, "replies": replies}
    return {
        "id": 1000 + ticket_id,
        "ticket_id": ticket_id,
        "created_at": None,
        "updated_at": _ts(solved) if solved else LOADED_AT,
        "solved_at": _ts(solved) if solved else None,
        "replies": replies,
        "reply_time_calendar_minutes": first_reply,
        "first_resolution_time_calendar_minutes": full,
        "full_resolution_time_calendar_minutes": full,
        "record": json.dumps(record),
    }


ZENDESK_METRICS = [
    _metric(1, "2026-04-06 11:00:00", 1, 30, 120),
    _metric(2, "2026-04-07 20:00:00", 3, 90, 600),
    _metric(3, None, 1, 300, None),
    _metric(4, None, 0, None, None),
    _metric(6, "2026-04-13 02:40:00", 1, 45, 4000),
]

SPEND = [
    ("2025-12-01", "google", "cpc", "brand", 60.00),
    ("2026-01-03", "google", "cpc", "brand", 100.00),
    ("2026-01-20", "Google", "CPC", "brand", 200.00),
    ("2026-02-10", "google", "cpc", "brand", 50.00),
    ("2026-03-05", "facebook", "social", "spring", 90.00),
]


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]], file: str) -> None:
    if not rows:
        return
    columns = [*rows[0].keys(), "_file", "_line", "_loaded_at"]
    values = [[*row.values(), file, line, LOADED_AT] for line, row in enumerate(rows, start=1)]
    placeholders = ", ".join("?" for _ in columns)
    con.executemany(f"insert into {table} ({', '.join(columns)}) values ({placeholders})", values)


def load_fixture(con: duckdb.DuckDBPyConnection) -> None:
    """Write every raw row of the fixture (the raw schema must exist: flows.warehouse.connect)."""
    _insert(con, "raw.segment_events", SEGMENT, "web/fixture.jsonl")
    _insert(con, "raw.segment_events", SEGMENT_DUPLICATES, "web/fixture-redelivered.jsonl")
    _insert(con, "raw.sendgrid_events", SENDGRID, "email/fixture.json")
    _insert(con, "raw.sendgrid_events", SENDGRID_DUPLICATES, "email/fixture-redelivered.json")
    users = [
        {
            "id": u["id"],
            "email": u["email"],
            "name": u["name"],
            "phone": None,
            "created_at": datetime(2026, 4, 1),
            "updated_at": datetime(2026, 4, 1),
            "record": json.dumps(u),
        }
        for u in ZENDESK_USERS
    ]
    _insert(con, "raw.zendesk_users", users, "tickets/users.json")
    _insert(con, "raw.zendesk_tickets", ZENDESK_TICKETS, "tickets/tickets.json")
    _insert(con, "raw.zendesk_ticket_metrics", ZENDESK_METRICS, "tickets/metrics.json")
    spend = [
        {
            "date": datetime.fromisoformat(d).date(),
            "source": s,
            "medium": m,
            "campaign": c,
            "spend": v,
            "currency": "USD",
        }
        for d, s, m, c, v in SPEND
    ]
    _insert(con, "raw.spend", spend, "spend/spend.csv")


@contextlib.contextmanager
def reading(settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection. Read-write on purpose: dbt ran in this process and DuckDB refuses a
    second connection to the same file with another configuration (read_only) in one process."""
    from flows.warehouse import open_warehouse

    with open_warehouse(settings) as con:
        yield con
