"""--dirty-rate injects each kind of defect at about the rate, and the summary counts are exact."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime

import pytest

from flows.generate.dirt import INVALID_EMAILS
from tests.generate.conftest import email_records, parse, web_lines

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")
RATE = 0.05


def _valid_ts(value: object) -> bool:
    if not isinstance(value, str) or not ISO_Z.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _tally_web(raw) -> tuple[Counter, int]:  # noqa: ANN001
    seen = Counter()
    ids = Counter()
    lines = web_lines(raw)
    for f, line in lines:
        m = parse(line)
        if m is None:
            seen["malformed"] += 1
            continue
        if "messageId" not in m or "timestamp" not in m or not (m.get("anonymousId") or m.get("userId")):
            seen["missing_field"] += 1
        elif not _valid_ts(m["timestamp"]):
            seen["bad_timestamp"] += 1
        elif m["timestamp"][:10] < f.name[:10]:
            seen["older_than_file"] += 1
        if m.get("anonymousId") == "undefined" or m.get("userId") in {"0", "null"}:
            seen["blocked_identity"] += 1
        email = (m.get("traits") or {}).get("email")
        if email == "anonymous":
            seen["blocked_identity"] += 1
        elif email in INVALID_EMAILS:
            seen["invalid_email"] += 1
        if "messageId" in m:
            ids[m["messageId"]] += 1
    seen["duplicate"] = sum(n - 1 for n in ids.values())
    return seen, len(lines)


def test_web_dirt_on_disk_matches_the_summary_exactly(dirty) -> None:
    raw, summary = dirty
    want = summary.dirty["web"]
    seen, n = _tally_web(raw)
    for kind in (
        "malformed",
        "missing_field",
        "bad_timestamp",
        "blocked_identity",
        "invalid_email",
        "duplicate",
    ):
        assert seen[kind] == want[kind], kind
    # late lines sit in a later day's file; redelivered copies sometimes do too
    assert want["late"] <= seen["older_than_file"] <= want["late"] + want["duplicate"]
    for kind in ("malformed", "missing_field", "bad_timestamp", "duplicate", "late", "blocked_identity"):
        assert 0.5 * RATE * n < want[kind] < 1.6 * RATE * n, (kind, want[kind], n)


def test_email_dirt_on_disk_matches_the_summary(dirty) -> None:
    raw, summary = dirty
    want = summary.dirty["email"]
    seen = Counter()
    ids = Counter()
    records = email_records(raw)
    for _, text in records:
        r = parse(text)
        if r is None:
            seen["malformed"] += 1
            continue
        if "sg_event_id" not in r or "timestamp" not in r or "event" not in r:
            seen["missing_field"] += 1
        elif not isinstance(r["timestamp"], int):
            seen["bad_timestamp"] += 1
        if r.get("email") == "anonymous":
            seen["blocked_identity"] += 1
        elif r.get("email") in INVALID_EMAILS:
            seen["invalid_email"] += 1
        if "sg_event_id" in r:
            ids[r["sg_event_id"]] += 1
    seen["duplicate"] = sum(k - 1 for k in ids.values())
    for kind in (
        "malformed",
        "missing_field",
        "bad_timestamp",
        "blocked_identity",
        "invalid_email",
        "duplicate",
    ):
        assert seen[kind] == want[kind], kind
    n = len(records)
    for kind in ("missing_field", "bad_timestamp", "duplicate", "invalid_email"):
        assert 0.5 * RATE * n < want[kind] < 1.6 * RATE * n, (kind, want[kind], n)
    assert want["malformed"] > 0  # only JSONL days: a truncated record would break a whole JSON array


def test_email_array_files_stay_valid_json_even_when_dirty(dirty) -> None:
    import json

    raw, _ = dirty
    for f in (raw / "email").rglob("*.json"):
        assert isinstance(json.loads(f.read_text()), list)


def test_dirty_data_stays_in_the_past(dirty) -> None:
    raw, summary = dirty
    stamps = [
        m["timestamp"] for _, line in web_lines(raw) if (m := parse(line)) and _valid_ts(m.get("timestamp"))
    ]
    assert max(stamps)[:10] <= str(summary.end)  # (no year 2099 or any other future date)


@pytest.mark.parametrize("rate", [-0.1, 0.5])
def test_dirty_rate_out_of_range_is_a_clear_error(tmp_path, rate) -> None:  # noqa: ANN001
    from flows.errors import LifecycleError
    from flows.generate import generate

    with pytest.raises(LifecycleError, match="--dirty-rate"):
        generate(tmp_path, customers=10, days=5, seed=1, start=None, dirty_rate=rate)
    assert not any(tmp_path.iterdir())
