"""The files match SPEC section 4 exactly: Segment lines, SendGrid posts, Zendesk pages, CSVs."""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from datetime import UTC, datetime

from tests.generate.conftest import email_records, parse, web_lines

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")
TYPES = {"page", "screen", "track", "identify", "alias"}
ECOMMERCE = {"Product Viewed", "Product Added", "Checkout Started", "Order Completed", "Order Refunded"}
PRODUCT_KEYS = {"product_id", "sku", "name", "category", "price", "quantity"}


def test_every_clean_web_line_has_required_fields_and_types(clean) -> None:
    raw, summary = clean
    lines = web_lines(raw)
    assert len(lines) == summary.records["web"] > 10_000
    seen_types, seen_events = set(), set()
    for f, line in lines:
        m = json.loads(line)
        assert isinstance(m["messageId"], str) and m["messageId"]
        assert m["type"] in TYPES
        assert ISO_Z.match(m["timestamp"]), m["timestamp"]
        assert m.get("anonymousId") or m.get("userId")
        # the file is the day of the event (no late events at dirty rate 0)
        assert f.name.startswith(m["timestamp"][:10])
        seen_types.add(m["type"])
        ctx = m["context"]
        if "campaign" in ctx:
            assert {"source", "medium", "name"} <= set(ctx["campaign"])
            assert all(isinstance(v, str) for v in ctx["campaign"].values())
        if m["type"] == "page":
            assert set(ctx["page"]) == {"path", "referrer", "title", "url"}
        if m["type"] == "identify":
            t = m["traits"]
            assert "@" in t["email"] and t["name"] and ISO_Z.match(t["createdAt"])
            assert m["userId"]
        if m["type"] == "alias":
            assert m["previousId"] and m["userId"]
        if m["type"] == "track":
            seen_events.add(m["event"])
            p = m["properties"]
            if m["event"] in {"Order Completed", "Order Refunded", "Checkout Started"}:
                assert p["currency"] == "USD"
                assert p["products"] and all(set(x) == PRODUCT_KEYS for x in p["products"])
            if m["event"] in {"Order Completed", "Order Refunded"}:
                assert p["order_id"] and isinstance(p.get("total", p.get("revenue")), float)
                assert m["userId"]
            if m["event"] in {"Product Viewed", "Product Added"}:
                assert p["product_id"].startswith("P") and isinstance(p["price"], float)
    assert seen_types == TYPES
    assert ECOMMERCE | {"Signed Up"} <= seen_events


def test_order_totals_match_their_products(clean) -> None:
    raw, _ = clean
    only_revenue = 0
    for _, line in web_lines(raw):
        if '"Order Completed"' in line:
            p = json.loads(line)["properties"]
            lines_total = round(sum(x["price"] * x["quantity"] for x in p["products"]), 2)
            assert p["revenue"] == lines_total
            only_revenue += "total" not in p
    assert only_revenue > 0  # some orders carry only `revenue`, exercising the fallback


def test_sendgrid_files_are_arrays_or_jsonl_with_unix_timestamps(clean) -> None:
    raw, summary = clean
    files = sorted((raw / "email").rglob("*.json*"))
    assert {f.suffix for f in files} == {".json", ".jsonl"}
    for f in files:
        if f.suffix == ".json":
            body = json.loads(f.read_text())
            assert isinstance(body, list) and all(isinstance(r, dict) for r in body)
    records = [json.loads(r) for _, r in email_records(raw)]
    assert len(records) == summary.records["email"]
    events = defaultdict(int)
    category_kinds = set()
    for r in records:
        events[r["event"]] += 1
        assert isinstance(r["timestamp"], int) and 1_500_000_000 < r["timestamp"] < 2_000_000_000
        assert r["sg_event_id"] and r["sg_message_id"] and "@" in r["email"]
        if "marketing_campaign_id" in r:
            assert isinstance(r["marketing_campaign_id"], int) and r["marketing_campaign_name"]
        else:
            category_kinds.add(type(r["category"]).__name__)
        if r["event"] == "bounce":
            assert r["type"] in {"bounce", "blocked"}
        if r["event"] == "click":
            assert r["url"].startswith("https://") and "utm_medium=email" in r["url"]
        if r["event"].startswith("group_"):
            assert isinstance(r["asm_group_id"], int)
    expected = {
        "processed", "dropped", "delivered", "deferred", "bounce", "open", "click", "spamreport",
        "unsubscribe", "group_unsubscribe", "group_resubscribe",
    }  # fmt: skip
    assert set(events) == expected
    assert events["processed"] > events["delivered"] > events["open"] > events["click"] > 0
    assert category_kinds == {"str", "list"}
    assert len({r["sg_event_id"] for r in records}) == len(records)


def test_zendesk_pages_have_api_shapes_and_versions_move_forward(clean) -> None:
    raw, _ = clean
    files = sorted((raw / "tickets").rglob("*.json"))
    kinds = defaultdict(int)
    versions: dict[int, list[str]] = defaultdict(list)
    statuses, scores, channels, priorities = set(), set(), set(), set()
    for f in files:
        page = json.loads(f.read_text())
        if "tickets" in page:
            cursor = {"tickets", "after_cursor", "after_url", "before_cursor", "before_url", "end_of_stream"}
            timed = {"tickets", "next_page", "end_time", "count", "end_of_stream"}
            assert set(page) in (cursor, timed)
            kinds["cursor" if "after_cursor" in page else "time"] += 1
            for t in page["tickets"]:
                versions[t["id"]].append(t["updated_at"])
                statuses.add(t["status"])
                scores.add(t["satisfaction_rating"]["score"])
                channels.add(t["via"]["channel"])
                priorities.add(t["priority"])
                assert t["created_at"] <= t["updated_at"] and isinstance(t["requester_id"], int)
                assert isinstance(t["tags"], list) and t["subject"]
        elif "users" in page:
            kinds["users"] += 1
            assert all({"id", "email", "name"} <= set(u) for u in page["users"])
        else:
            kinds["metrics"] += 1
            for m in page["ticket_metrics"]:
                assert {
                    "ticket_id",
                    "reply_time_in_minutes",
                    "full_resolution_time_in_minutes",
                    "replies",
                } <= set(m)
                assert set(m["reply_time_in_minutes"]) == {"calendar", "business"}
    assert kinds["cursor"] and kinds["time"] and kinds["users"] and kinds["metrics"]
    assert {"new", "open", "pending", "solved", "closed", "deleted"} <= statuses
    assert scores == {"offered", "unoffered", "good", "bad"}
    assert {"email", "web", "chat"} <= channels <= {"email", "web", "chat", "api"}
    assert {"normal", "high"} <= priorities <= {"low", "normal", "high", "urgent"}
    # each version is newer than the previous one (export order is by updated_at)
    assert all(v == sorted(v) and len(set(v)) == len(v) for v in versions.values())
    assert max(len(v) for v in versions.values()) >= 4


def test_spend_and_erasure_csvs(clean) -> None:
    raw, summary = clean
    files = sorted((raw / "spend").glob("*.csv"))
    assert [f.stem for f in files][:2] == ["2025-01", "2025-02"] and len(files) == 13  # Jan 2025..Jan 2026
    rows = []
    for f in files:
        with f.open() as fh:
            assert fh.readline().strip() == "date,source,medium,campaign,spend,currency"
            fh.seek(0)
            month = list(csv.DictReader(fh))
        assert month and all(r["date"].startswith(f.stem) for r in month)  # one file per month
        rows.extend(month)
    assert {(r["source"], r["medium"]) for r in rows} == {
        ("google", "cpc"),
        ("facebook", "paid_social"),
        ("newsletter", "email"),
    }
    assert all(float(r["spend"]) > 0 and r["currency"] == "USD" for r in rows)
    with (raw / "erasure" / "requests.csv").open() as fh:
        reqs = list(csv.DictReader(fh))
    assert 3 <= len(reqs) <= 10 and all("@" in r["email"] and ISO_Z.match(r["requested_at"]) for r in reqs)
    end = datetime(2026, 1, 5, 23, 59, 59, tzinfo=UTC)
    assert all(datetime.fromisoformat(r["requested_at"]) < end for r in reqs)


def test_no_dirt_at_rate_zero(clean) -> None:
    raw, summary = clean
    assert summary.dirty_total() == 0
    assert all(parse(line) is not None for _, line in web_lines(raw))
    ids = [json.loads(line)["messageId"] for _, line in web_lines(raw)]
    assert len(ids) == len(set(ids))
