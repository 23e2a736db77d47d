"""Zendesk API mode against a real HTTP server on 127.0.0.1 that serves documented-format
cursor pages and misbehaves: 429 with Retry-After, 500, a truncated body."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from flows.errors import LifecycleError
from flows.sources.zendesk_api import ENDPOINTS, ingest_api, ingest_endpoint

from .conftest import query

TOKEN = "s3cret-token-value"
EMAIL = "agent@example.com"


def _ticket(i: int, version: int) -> dict:
    return {
        "id": i,
        "requester_id": 500 + i,
        "status": "open" if version == 0 else "solved",
        "priority": "normal",
        "via": {"channel": "web"},
        "subject": f"ticket {i}",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": f"2026-01-0{1 + version}T00:00:{i % 60:02d}Z",
        "satisfaction_rating": {"score": "unoffered"},
    }


def _pages() -> list[dict]:
    """Four cursor pages; page 3 carries a new version of ticket 1 (tickets reappear on change)."""
    tickets = [
        [_ticket(1, 0), _ticket(2, 0)],
        [_ticket(3, 0), _ticket(4, 0)],
        [_ticket(1, 1)],
        [_ticket(5, 0)],
    ]
    pages = []
    for n, batch in enumerate(tickets):
        last = n == len(tickets) - 1
        pages.append(
            {
                "tickets": batch,
                "after_cursor": f"c{n + 1}",
                "after_url": f"https://x.zendesk.com/api/v2/incremental/tickets/cursor?cursor=c{n + 1}",
                "before_cursor": None,
                "before_url": None,
                "end_of_stream": last,
            }
        )
    return pages


class FakeZendesk:
    """Serves the pages in order of cursor; `faults` maps request number -> misbehaviour."""

    def __init__(self, faults: dict[int, str] | None = None, fail_from_page: int | None = None) -> None:
        self.pages = _pages()
        self.faults = faults or {}
        self.fail_from_page = fail_from_page
        self.requests: list[tuple[str, dict, float]] = []
        self.auth_ok = True
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                url = urlparse(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                server.requests.append((url.path, params, time.monotonic()))
                expected = "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    server.auth_ok = False
                    return self._send(401, b'{"error":"Couldn\'t authenticate you"}')
                fault = server.faults.get(len(server.requests))
                if fault == "429":
                    return self._send(429, b"{}", {"Retry-After": "1"})
                if fault == "500":
                    return self._send(500, b"oops")
                if url.path.endswith("/users/cursor.json"):
                    body = {"users": [], "after_cursor": "u1", "end_of_stream": True}
                    return self._send(200, json.dumps(body).encode())
                index = int(params["cursor"][1:]) if "cursor" in params else 0
                if server.fail_from_page is not None and index >= server.fail_from_page:
                    return self._send(503, b"down")
                body = json.dumps(server.pages[index]).encode()
                if fault == "truncate":
                    # Promise the whole body, send half, close: a truncated response.
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return None
                return self._send(200, body)

            def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FakeZendesk:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def api_settings(settings):
    """Settings pointing API mode at a local server (optionally in another data dir)."""
    from pydantic import SecretStr

    from flows.settings import Settings

    def make(url: str, data_dir=None) -> Settings:
        return Settings(
            data_dir=data_dir or settings.data_dir,
            zendesk_base_url=url,
            zendesk_email=EMAIL,
            zendesk_api_token=SecretStr(TOKEN),
        )

    return make


def _tickets(settings) -> list[tuple]:
    return query(settings, "select id, updated_at::varchar from raw.zendesk_tickets order by all")


def test_misbehaving_server_is_survived_and_retry_after_honoured(api_settings, caplog):
    # Request 1: 429 Retry-After 1; 2: page 0; 3: 500; 4: page 1; 5: truncated body; 6: page 2 ...
    with FakeZendesk(faults={1: "429", 3: "500", 5: "truncate"}) as server:
        s = api_settings(server.url)
        summary = ingest_api(s)
    assert server.auth_ok
    waited = server.requests[1][2] - server.requests[0][2]
    assert waited >= 0.95, "Retry-After: 1 must be honoured"
    assert summary.rows == 6 and summary.files == 5  # 4 ticket pages + 1 users page
    assert len(_tickets(s)) == 6
    assert query(s, "select endpoint, cursor from raw.api_cursors order by endpoint") == [
        ("incremental/tickets/cursor", "c4"),
        ("incremental/users/cursor", "u1"),
    ]
    assert TOKEN not in caplog.text


def test_interrupted_run_resumes_from_committed_cursor_without_gaps_or_duplicates(api_settings):
    with FakeZendesk(fail_from_page=2) as server:
        s = api_settings(server.url)
        with pytest.raises(LifecycleError) as err:
            ingest_endpoint_fast(s)
        assert "failed after" in str(err.value) and TOKEN not in str(err.value)
    assert query(s, "select cursor from raw.api_cursors") == [("c2",)]
    assert len(_tickets(s)) == 4
    with FakeZendesk() as server:
        s = api_settings(server.url)
        ingest_endpoint_fast(s)
        assert [r[1].get("cursor") for r in server.requests] == ["c2", "c3"]
    resumed = _tickets(s)
    with FakeZendesk() as server:  # a clean run into a fresh warehouse for comparison
        clean = api_settings(server.url, data_dir=s.data_dir.parent / "clean")
        ingest_endpoint_fast(clean)
    assert resumed == _tickets(clean)
    assert len(resumed) == 6 and len({r for r in resumed}) == 6


def ingest_endpoint_fast(s):
    """Tickets endpoint only, with short backoff so failure paths stay fast."""
    from flows.sources.zendesk_api import _client
    from flows.warehouse import open_warehouse

    with open_warehouse(s) as con, _client(s) as client:
        return ingest_endpoint(con, s, client, ENDPOINTS[0], sleep=lambda _: time.sleep(0.01))


def test_missing_credentials_is_a_clear_error(settings):
    with pytest.raises(LifecycleError, match="ZENDESK_EMAIL"):
        ingest_api(settings)
