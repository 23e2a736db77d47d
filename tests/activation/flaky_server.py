"""A real HTTP receiver on 127.0.0.1 that fails on purpose, and honours Idempotency-Key.

Scripted failures are consumed one per request, in order: ("429", seconds) answers 429 with
Retry-After; ("500",) answers 500; ("slow", seconds) APPLIES the batch and then answers too late for
the client's timeout, the case where only an idempotency key prevents a double delivery. Any batch
holding a record whose email lacks '@' is refused with 400. Applied batches are remembered by key:
a repeat key answers 200 again without applying anything.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FlakyReceiver:
    def __init__(self, token: str, script: list[tuple] | None = None) -> None:
        self.token = token
        self.script = list(script or [])
        self.lock = threading.Lock()
        self.applied_keys: set[str] = set()
        self.delivered: Counter[tuple[str, str]] = Counter()  # (op, key) -> times applied
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _reply(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and went away

            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers.get("Idempotency-Key")
                with receiver.lock:
                    step = receiver.script.pop(0) if receiver.script else None
                    receiver.requests.append(
                        {
                            "key": key,
                            "records": [(r["op"], r["key"]) for r in body["records"]],
                            "step": step,
                            "auth": self.headers.get("Authorization"),
                        }
                    )
                if self.headers.get("Authorization") != f"Bearer {receiver.token}":
                    return self._reply(401, {"error": "bad token"})
                if not key:
                    return self._reply(400, {"error": "Idempotency-Key required"})
                if step and step[0] == "429":
                    return self._reply(429, {"error": "slow down"}, {"Retry-After": str(step[1])})
                if step and step[0] == "500":
                    return self._reply(500, {"error": "boom"})
                bad = [
                    r["key"]
                    for r in body["records"]
                    if r["op"] == "upsert" and "@" not in str((r["data"] or {}).get("email", ""))
                ]
                if bad:
                    return self._reply(400, {"error": f"invalid email for {bad}"})
                with receiver.lock:
                    if key not in receiver.applied_keys:
                        receiver.applied_keys.add(key)
                        for r in body["records"]:
                            receiver.delivered[(r["op"], r["key"])] += 1
                if step and step[0] == "slow":
                    time.sleep(step[1])
                return self._reply(200, {"ok": True})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def __enter__(self) -> FlakyReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
