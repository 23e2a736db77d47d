"""The http destination against a real, deliberately flaky server on 127.0.0.1.

Every good record must end delivered exactly once, the bad one dead-lettered, the next run must send
only what changed or failed, and no secret may appear in logs, files, tables or errors.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from flows.activation.config import parse_config
from flows.activation.credentials import Redactor, display_url
from flows.activation.destinations.http import RateLimiter, Record, idempotency_key, retry_after_seconds
from flows.warehouse import fetch_all, open_warehouse
from tests.activation.flaky_server import FlakyReceiver
from tests.activation.mini_warehouse import person, sync, write_warehouse

TOKEN = "tok_live_S3CRET_abc123"
PATH_SECRET = "hookS3CRETpath42"
QUERY_SECRET = "qS3CRETkey77"

HTTP_YML = """
destinations:
  crm:
    type: http
    url_env: TEST_CRM_URL
    token_env: TEST_CRM_TOKEN
    batch_size: 4
    rate_limit_per_second: 200
    max_retries: 4
    backoff_base_seconds: 0.01
    timeout_seconds: 0.4
segments:
  - name: win_back
    description: at risk, pushed to the CRM
    filter: "lifecycle_stage = 'at_risk'"
    fields: [person_id, email, name]
    destinations: [crm]
"""


def persons(bad_email: str = "not-an-email", renamed: bool = False) -> list[dict]:
    rows = [person(f"p{i:02d}", f"user{i}@example.com") for i in range(10)]
    rows[5] = person("p05", bad_email)
    if renamed:
        rows[1] = person("p01", "user1@example.com", name="Renamed One")
    return rows


@pytest.fixture
def sleeps():
    """Records requested waits; sleeps at most 10 ms so the test stays fast."""
    calls: list[float] = []

    def fake_sleep(seconds: float) -> None:
        calls.append(seconds)
        time.sleep(min(seconds, 0.01))

    fake_sleep.calls = calls  # type: ignore[attr-defined]
    return fake_sleep


def test_flaky_server_gets_every_good_record_exactly_once(make_settings, monkeypatch, sleeps, caplog):
    caplog.set_level(logging.DEBUG)
    settings = make_settings(HTTP_YML)
    script = [("429", 1), ("500",), ("slow", 0.8)]
    with FlakyReceiver(TOKEN, script) as server:
        url = f"http://127.0.0.1:{server.port}/hooks/{PATH_SECRET}?api_key={QUERY_SECRET}"
        monkeypatch.setenv("TEST_CRM_URL", url)
        monkeypatch.setenv("TEST_CRM_TOKEN", TOKEN)

        # Run 1: 429 (Retry-After: 1), 500, a timeout after the batch was applied, and a bad record.
        write_warehouse(settings, persons())
        first = sync(settings, http_sleep=sleeps)[("win_back", "crm")]
        good = {f"p{i:02d}" for i in range(10)} - {"p05"}
        assert {k for (op, k) in server.delivered} == good
        assert set(server.delivered.values()) == {1}, "a good record was applied twice"
        assert (first["status"], first["failures"], first["adds"]) == ("partial", 1, 10)
        assert any(s >= 1.0 for s in sleeps.calls), "Retry-After: 1 was not honoured"
        keys = [r["key"] for r in server.requests]
        assert len(keys) > len(set(keys)), "the retry after the timeout must reuse the Idempotency-Key"
        with open_warehouse(settings, read_only=True) as con:
            dead = fetch_all(con, "select record_key, op, status_code, error from sync.dead_letters")
            synced = fetch_all(con, "select record_key from sync.record_state order by 1")
        assert [(d[0], d[1], d[2]) for d in dead] == [("p05", "upsert", 400)]
        assert "invalid email" in dead[0][3]
        assert {s[0] for s in synced} == good

        # Run 2: p01 changed, p02 unsubscribed, p10 new; only those and the failed p05 are sent.
        server.requests.clear()
        rows = persons(renamed=True) + [person("p10", "user10@example.com")]
        write_warehouse(settings, rows, suppressions=["user2@example.com"])
        second = sync(settings, http_sleep=sleeps)[("win_back", "crm")]
        sent = {rec for r in server.requests for rec in r["records"]}
        assert sent == {("upsert", "p01"), ("upsert", "p10"), ("delete", "p02"), ("upsert", "p05")}
        assert (second["adds"], second["changes"], second["removes"], second["failures"]) == (2, 1, 1, 1)
        assert server.delivered[("upsert", "p01")] == 2  # once per distinct content
        assert server.delivered[("upsert", "p10")] == 1 and server.delivered[("delete", "p02")] == 1

        # Run 3: the bad address is fixed; only p05 is sent, and the run is clean.
        server.requests.clear()
        rows = persons(bad_email="five@example.com", renamed=True) + [person("p10", "user10@example.com")]
        write_warehouse(settings, rows, suppressions=["user2@example.com"])
        third = sync(settings, http_sleep=sleeps)[("win_back", "crm")]
        assert [rec for r in server.requests for rec in r["records"]] == [("upsert", "p05")]
        assert third["status"] == "ok"
        assert server.delivered[("upsert", "p05")] == 1

    # No secret anywhere: logs, results, tables, files in the data dir.
    texts = [caplog.text, repr(first), repr(second), repr(third)]
    with open_warehouse(settings, read_only=True) as con:
        texts += [
            repr(fetch_all(con, f"select * from sync.{t}")) for t in ("runs", "results", "dead_letters")
        ]
    blobs = [p.read_bytes() for p in settings.root.rglob("*") if p.is_file()]
    for secret in (TOKEN, PATH_SECRET, QUERY_SECRET):
        assert not any(secret in t for t in texts), secret
        assert not any(secret.encode() in b for b in blobs), secret


def test_wrong_token_stops_without_bisecting_and_leaks_nothing(make_settings, monkeypatch, sleeps, caplog):
    settings = make_settings(HTTP_YML)
    write_warehouse(settings, persons(bad_email="five@example.com"))
    with FlakyReceiver("the-right-token") as server:
        monkeypatch.setenv("TEST_CRM_URL", f"http://127.0.0.1:{server.port}/hooks/{PATH_SECRET}")
        monkeypatch.setenv("TEST_CRM_TOKEN", TOKEN)
        row = sync(settings, http_sleep=sleeps)[("win_back", "crm")]
        assert len(server.requests) == 1  # 401 blames the destination: no retries, no bisection
    assert (row["status"], row["failures"]) == ("failed", 10)
    assert "records failed for http://127.0.0.1" in row["error"]
    assert TOKEN not in caplog.text and PATH_SECRET not in caplog.text and PATH_SECRET not in row["error"]


def test_unreachable_server_gives_up_and_resends_next_run(make_settings, monkeypatch, sleeps):
    settings = make_settings(HTTP_YML.replace("max_retries: 4", "max_retries: 1"))
    write_warehouse(settings, persons(bad_email="five@example.com"))
    with FlakyReceiver(TOKEN) as server:
        port = server.port
    monkeypatch.setenv("TEST_CRM_URL", f"http://127.0.0.1:{port}/hooks/{PATH_SECRET}")
    monkeypatch.setenv("TEST_CRM_TOKEN", TOKEN)
    row = sync(settings, http_sleep=sleeps)[("win_back", "crm")]
    assert (row["status"], row["failures"]) == ("failed", 10)
    with FlakyReceiver(TOKEN) as server:
        monkeypatch.setenv("TEST_CRM_URL", f"http://127.0.0.1:{server.port}/hooks/{PATH_SECRET}")
        again = sync(settings, http_sleep=sleeps)[("win_back", "crm")]
        assert (again["status"], again["adds"]) == ("ok", 10)
        assert len(server.delivered) == 10


def test_missing_url_is_skipped_when_optional_and_an_error_otherwise(make_settings, monkeypatch):
    monkeypatch.delenv("TEST_CRM_URL", raising=False)
    settings = make_settings(HTTP_YML)
    write_warehouse(settings, persons())
    row = sync(settings)[("win_back", "crm")]
    assert row["status"] == "failed"
    assert "no URL (environment variable TEST_CRM_URL is not set)" in row["error"]
    settings = make_settings(HTTP_YML.replace("type: http", "type: http\n    optional: true"), name="opt")
    write_warehouse(settings, persons())
    assert sync(settings)[("win_back", "crm")]["status"] == "skipped"


def test_retry_after_parsing():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("0.5") == 0.5
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after_seconds(later) <= 31
    assert retry_after_seconds(format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True)) == 0.0


def test_rate_limiter_spaces_requests():
    now = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    limiter = RateLimiter(4, sleep, lambda: now[0])
    for _ in range(5):
        limiter.wait()
    assert slept == pytest.approx([0.25, 0.25, 0.25, 0.25])


def test_rate_limiter_is_shared_per_destination():
    now = [0.0]
    clock = lambda: now[0]  # noqa: E731
    a = RateLimiter.for_destination("crm_x", 2, lambda s: None, clock)
    assert RateLimiter.for_destination("crm_x", 2, lambda s: None, clock) is a
    assert RateLimiter.for_destination("other_x", 2, lambda s: None, clock) is not a
    assert RateLimiter.for_destination("crm_x", 4, lambda s: None, clock) is not a


def test_idempotency_key_depends_on_content_only():
    a = [Record("upsert", "p1", "h1", "{}"), Record("delete", "p2", None, "null")]
    assert idempotency_key("crm", "s", a) == idempotency_key("crm", "s", list(a))
    assert idempotency_key("crm", "s", a) != idempotency_key("crm", "s", a[:1])
    assert idempotency_key("crm", "s", a) != idempotency_key("crm", "other", a)


def test_redactor_and_display_url():
    url = "https://crm_user:pa%24%24word@api.example.com/v1/hooks/abc123?key=zzz999"
    redact = Redactor(url, "tok_123456")
    text = redact(f"POST {url} failed; auth pa$$word / crm_user / tok_123456 / key=zzz999")
    for secret in ("pa$$word", "pa%24%24word", "crm_user", "tok_123456", "zzz999", "abc123"):
        assert secret not in text
    assert display_url(url) == "https://api.example.com"
    assert Redactor(None, "")("nothing to hide") == "nothing to hide"


def test_http_destination_config_defaults():
    config = parse_config(
        {
            "destinations": {"crm": {"type": "http", "url_env": "X"}},
            "segments": [
                {
                    "name": "s",
                    "description": "d",
                    "filter": "true",
                    "fields": ["email"],
                    "destinations": ["crm"],
                }
            ],
        }
    )
    crm = config.destinations["crm"]
    assert (crm.batch_size, crm.max_retries, crm.rate_limit_per_second) == (500, 5, 5.0)
