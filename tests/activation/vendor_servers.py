"""Local fake channel APIs on 127.0.0.1 that enforce each vendor's documented contract and misbehave.

Each fake checks what its vendor documents (channel_apis.py cites the pages): auth headers, the
request shape, identifier formats, the per-request batch limit; anything else is answered the way
the vendor answers a bad request (400/401/413), so a contract slip fails the test. Misbehaviour is
scripted per request, in order: ("429", seconds) answers 429 with Retry-After, ("500",) answers
500, both BEFORE applying anything. One record is refused the vendor's own way: any address
starting with `reject` (Google partialFailureError, Meta invalid_entry_samples, Mailchimp errors[]
in a 200, Klaviyo a 400 for the whole job, HubSpot 207 Multi-Status).

`applied` counts every application of an identifier (op, id); `members` is the audience the
vendor holds afterwards. Erasure: Mailchimp delete-permanent, Klaviyo data-privacy-deletion-jobs and
HubSpot gdpr-delete (op "erase") forget the person; Google and Meta only offer the list removal.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

HEX64 = re.compile(r"^[0-9a-f]{64}$")
REJECT_EMAIL = "reject@example.com"
REJECT_HASH = hashlib.sha256(REJECT_EMAIL.encode()).hexdigest()
LATE_REJECT = "late-reject"  # Klaviyo: accepted by the bulk import, then refused by its job


class Reply(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.status, self.body, self.headers = status, body, headers or {}


class VendorServer:
    """Base: routing, scripted misbehaviour, request log. Subclasses implement `handle`."""

    limit = 0

    def __init__(self, token: str, script: list[tuple] | None = None, **ids: str) -> None:
        self.token = token
        self.ids = ids
        self.script = list(script or [])
        self.lock = threading.Lock()
        self.applied: Counter[tuple[str, str]] = Counter()
        self.members: set[str] = set()
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                with server.lock:
                    step = server.script.pop(0) if server.script else None
                    server.requests.append(
                        {
                            "method": self.command,
                            "path": parts.path,
                            "headers": dict(self.headers),
                            "step": step,
                        }
                    )
                    try:
                        if step and step[0] == "429":
                            raise Reply(429, {"error": "rate limited"}, {"Retry-After": str(step[1])})
                        if step and step[0] == "500":
                            raise Reply(500, {"error": "internal"})
                        body = json.loads(raw) if raw else None
                        status, out = server.handle(
                            self.command, parts.path, parse_qs(parts.query), self.headers, body
                        )
                        reply = Reply(status, out)
                    except Reply as r:
                        reply = r
                data = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> VendorServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def need(self, cond: bool, status: int, message: str) -> None:
        if not cond:
            raise Reply(status, {"error": message})

    def handle(self, method: str, path: str, query: dict, headers: Any, body: Any) -> tuple[int, Any]:
        raise NotImplementedError


class GoogleAdsServer(VendorServer):
    """OfflineUserDataJobService: create, addOperations (partial failure), run."""

    limit = 10_000

    def __init__(self, token: str, script: list[tuple] | None = None, **ids: str) -> None:
        super().__init__(token, script, **ids)
        self.jobs: dict[str, list[tuple[str, str]]] = {}
        self.ran: list[str] = []

    def handle(self, method, path, query, headers, body):
        self.need(headers.get("Authorization") == f"Bearer {self.token}", 401, "UNAUTHENTICATED")
        self.need(
            headers.get("developer-token") == self.ids["developer_token"], 401, "DEVELOPER_TOKEN_INVALID"
        )
        cid, lst = self.ids["customer_id"], self.ids["user_list"]
        self.need(method == "POST", 404, "not found")
        if path == f"/v18/customers/{cid}/offlineUserDataJobs:create":
            job = body["job"]
            self.need(job.get("type") == "CUSTOMER_MATCH_USER_LIST", 400, "INVALID_ARGUMENT type")
            meta = job.get("customerMatchUserListMetadata") or {}
            self.need(meta.get("userList") == f"customers/{cid}/userLists/{lst}", 400, "INVALID_USER_LIST")
            name = f"customers/{cid}/offlineUserDataJobs/{len(self.jobs) + 1}"
            self.jobs[name] = []
            return 200, {"resourceName": name}
        m = re.fullmatch(r"/v18/(customers/\d+/offlineUserDataJobs/\d+):(addOperations|run)", path)
        self.need(m is not None and m.group(1) in self.jobs, 404, "job not found")
        job, verb = m.group(1), m.group(2)
        if verb == "run":
            self.need(job not in self.ran, 400, "job already ran")
            self.ran.append(job)
            for op, ident in self.jobs[job]:
                self.applied[(op, ident)] += 1
                (self.members.add if op == "create" else self.members.discard)(ident)
            return 200, {"name": f"operations/{job}"}
        ops = body.get("operations") or []
        self.need(0 < len(ops) <= self.limit, 400, "TOO_MANY_OPERATIONS")
        self.need(body.get("enablePartialFailure") is True, 400, "partial failure expected")
        errors = []
        for i, op in enumerate(ops):
            self.need(len(op) == 1 and next(iter(op)) in ("create", "remove"), 400, "bad operation")
            kind, data = next(iter(op.items()))
            ids = data.get("userIdentifiers") or []
            self.need(bool(ids), 400, "no user identifiers")
            for ident in ids:
                self.need(
                    len(ident) == 1
                    and next(iter(ident)) in ("hashedEmail", "hashedPhoneNumber", "addressInfo"),
                    400,
                    "bad identifier",
                )
                value = next(iter(ident.values()))
                if isinstance(value, str):
                    self.need(bool(HEX64.match(value)), 400, "INVALID_HASH (sha256 hex expected)")
            email = next((x["hashedEmail"] for x in ids if "hashedEmail" in x), None)
            if email == REJECT_HASH:
                errors.append(
                    {
                        "errorCode": {"offlineUserDataJobError": "INVALID_SHA256_FORMAT"},
                        "message": "rejected identifier",
                        "location": {"fieldPathElements": [{"fieldName": "operations", "index": i}]},
                    }
                )
                continue
            self.jobs[job].append((kind, email or ids[0].get("hashedPhoneNumber", "")))
        out: dict[str, Any] = {}
        if errors:
            out["partialFailureError"] = {
                "code": 3,
                "message": "partial failure",
                "details": [{"errors": errors}],
            }
        return 200, out


class MetaServer(VendorServer):
    """/{audience}/users POST (add) and DELETE (remove), /usersreplace with a session."""

    limit = 10_000
    SCHEMA = ["EMAIL", "PHONE", "FN", "LN"]

    def __init__(self, token: str, script: list[tuple] | None = None, **ids: str) -> None:
        super().__init__(token, script, **ids)
        self.replacing: dict[int, set[str]] = {}
        self.sessions: list[dict] = []

    def handle(self, method, path, query, headers, body):
        self.need(headers.get("Authorization") == f"Bearer {self.token}", 401, "OAuthException")
        aud = self.ids["audience_id"]
        self.need(path in (f"/v21.0/{aud}/users", f"/v21.0/{aud}/usersreplace"), 404, "unknown audience")
        payload, session = body.get("payload") or {}, body.get("session") or {}
        self.need(payload.get("schema") == self.SCHEMA, 400, "schema mismatch")
        data = payload.get("data") or []
        self.need(0 < len(data) <= self.limit, 400, "(#100) too many users in one request")
        self.need(
            {"session_id", "batch_seq", "last_batch_flag", "estimated_num_total"} <= set(session),
            400,
            "bad session",
        )
        self.sessions.append(session)
        invalid = {}
        replace = path.endswith("usersreplace")
        self.need(not replace or method == "POST", 400, "usersreplace is POST")
        for row in data:
            self.need(len(row) == len(self.SCHEMA), 400, "row length differs from schema")
            for v in row:
                self.need(v == "" or bool(HEX64.match(v)), 400, "values must be SHA-256 hex")
            if row[0] == REJECT_HASH:
                invalid[row[0]] = "INVALID_EMAIL"
                continue
            ident = row[0] or row[1]
            op = "remove" if method == "DELETE" else "add"
            self.applied[(op, ident)] += 1
            if replace:
                self.replacing.setdefault(session["session_id"], set()).add(ident)
            elif op == "add":
                self.members.add(ident)
            else:
                self.members.discard(ident)
        if replace and session["last_batch_flag"]:
            self.members = self.replacing.pop(session["session_id"], set())
        return 200, {
            "audience_id": aud,
            "session_id": session["session_id"],
            "num_received": len(data),
            "num_invalid_entries": len(invalid),
            "invalid_entry_samples": invalid,
        }


class MailchimpServer(VendorServer):
    """Batch subscribe (errors[] in a 200) and member tags by subscriber hash."""

    limit = 500

    def __init__(self, token: str, script: list[tuple] | None = None, **ids: str) -> None:
        super().__init__(token, script, **ids)
        self.tags: dict[str, set[str]] = {}
        self.merge: dict[str, dict] = {}
        self.addresses: dict[str, str] = {}  # email -> subscriber hash

    def handle(self, method, path, query, headers, body):
        auth = headers.get("Authorization") or ""
        self.need(auth.startswith("Basic "), 401, "API Key Missing")
        user, _, key = base64.b64decode(auth[6:]).decode().partition(":")
        self.need(key == self.token and bool(user), 401, "API Key Invalid")
        lst = self.ids["list_id"]
        if method == "POST" and path == f"/3.0/lists/{lst}":
            members = body.get("members") or []
            self.need(0 < len(members) <= self.limit, 400, "members: maximum 500")
            self.need(isinstance(body.get("update_existing"), bool), 400, "update_existing")
            new, errors = [], []
            for m in members:
                email = m.get("email_address", "")
                self.need("@" in email, 400, "Invalid Resource")
                self.need(
                    m.get("status") in ("subscribed", "unsubscribed", "cleaned", "pending", "transactional"),
                    400,
                    "bad status",
                )
                self.need(set(m.get("merge_fields") or {}) <= {"FNAME", "LNAME"}, 400, "unknown merge field")
                if email.startswith("reject"):
                    errors.append(
                        {
                            "email_address": email,
                            "error": f"{email} looks fake or invalid",
                            "error_code": "ERROR_GENERIC",
                        }
                    )
                    continue
                h = hashlib.md5(email.lower().encode()).hexdigest()
                self.addresses[email] = h
                self.applied[("upsert", email)] += 1
                self.merge[h] = m.get("merge_fields") or {}
                self.tags.setdefault(h, set()).update(m.get("tags") or [])
                self.members.add(email)
                new.append({"email_address": email})
            return 200, {
                "new_members": new,
                "updated_members": [],
                "errors": errors,
                "total_created": len(new),
                "total_updated": 0,
                "error_count": len(errors),
            }
        m = re.fullmatch(rf"/3.0/lists/{lst}/members/([0-9a-f]{{32}})/actions/delete-permanent", path)
        if m is not None:  # the GDPR delete: the member and its data are gone for good
            self.need(method == "POST" and not body, 400, "no body expected")
            h = m.group(1)
            self.need(h in self.tags, 404, "Resource Not Found")
            email = next(e for e, known in self.addresses.items() if known == h)
            self.members.discard(email)
            del self.tags[h]
            self.merge.pop(h, None)
            self.applied[("erase", email)] += 1
            return 204, None
        m = re.fullmatch(rf"/3.0/lists/{lst}/members/([0-9a-f]{{32}})/tags", path)
        self.need(method == "POST" and m is not None, 404, "Resource Not Found")
        h = m.group(1)
        self.need(h in self.tags, 404, "Resource Not Found")
        for tag in body.get("tags") or []:
            self.need(tag.get("status") in ("active", "inactive"), 400, "tag status")
            if tag["status"] == "inactive":
                self.tags[h].discard(tag["name"])
                self.applied[("untag", h)] += 1
        return 204, None


class KlaviyoServer(VendorServer):
    """Profile bulk-import jobs (JSON:API), profile lookup by email, list relationship removal."""

    limit = 10_000

    def __init__(self, token: str, script: list[tuple] | None = None, **ids: str) -> None:
        super().__init__(token, script, **ids)
        self.profiles: dict[str, str] = {}  # email -> id
        self.jobs: dict[str, dict] = {}
        self.stuck_jobs = False  # True: every import job stays `processing`

    def handle(self, method, path, query, headers, body):
        self.need(headers.get("Authorization") == f"Klaviyo-API-Key {self.token}", 401, "not_authenticated")
        self.need(bool(headers.get("revision")), 400, "revision header required")
        lst = self.ids["list_id"]
        if method == "POST" and path == "/api/profile-bulk-import-jobs":
            self.need(headers.get("Content-Type") == "application/vnd.api+json", 415, "JSON:API media type")
            data = body.get("data") or {}
            self.need(data.get("type") == "profile-bulk-import-job", 400, "type")
            profiles = ((data.get("attributes") or {}).get("profiles") or {}).get("data") or []
            self.need(0 < len(profiles) <= self.limit, 413, "too many profiles")
            rel = ((data.get("relationships") or {}).get("lists") or {}).get("data") or []
            self.need(rel == [{"type": "list", "id": lst}], 400, "list relationship")
            for i, p in enumerate(profiles):
                self.need(p.get("type") == "profile", 400, "profile type")
                attrs = p.get("attributes") or {}
                self.need(
                    set(attrs) <= {"email", "first_name", "last_name", "phone_number"}, 400, "attribute"
                )
                phone = attrs.get("phone_number")
                self.need(
                    phone is None or bool(re.fullmatch(r"\+[1-9]\d{7,14}", phone)), 400, "phone_number E.164"
                )
                if str(attrs.get("email", "")).startswith("reject"):
                    raise Reply(
                        400,
                        {
                            "errors": [
                                {
                                    "status": 400,
                                    "code": "invalid",
                                    "source": {
                                        "pointer": f"/data/attributes/profiles/data/{i}/attributes/email"
                                    },
                                }
                            ]
                        },
                    )
            job = f"job{len(self.requests)}"
            failed = []
            for p in profiles:
                email = p["attributes"]["email"]
                if email.startswith(LATE_REJECT):  # accepted now, refused by the job later
                    failed.append(p["attributes"])
                    continue
                self.profiles.setdefault(email, f"P{len(self.profiles) + 1}")
                self.applied[("upsert", email)] += 1
                self.members.add(email)
            self.jobs[job] = {"total": len(profiles), "failed": failed, "polls": 0}
            return 202, {
                "data": {"type": "profile-bulk-import-job", "id": job, "attributes": {"status": "queued"}}
            }
        m = re.fullmatch(r"/api/profile-bulk-import-jobs/(job\d+)(/import-errors)?", path)
        if method == "GET" and m is not None:
            self.need(m.group(1) in self.jobs, 404, "job not found")
            job = self.jobs[m.group(1)]
            if m.group(2):  # one error per page, so pagination is exercised
                cursor = int((query.get("page[cursor]") or ["0"])[0])
                errors = job["failed"][cursor : cursor + 1]
                more = cursor + 1 < len(job["failed"])
                nxt = f"{self.url}{path}?page[cursor]={cursor + 1}"
                return 200, {
                    "data": [
                        {
                            "type": "import-error",
                            "id": f"e{cursor}",
                            "attributes": {
                                "code": "invalid",
                                "title": "Invalid input.",
                                "detail": "The email address is not deliverable.",
                                "original_payload": attrs,
                            },
                        }
                        for attrs in errors
                    ],
                    "links": {"next": nxt if more else None},
                }
            job["polls"] += 1
            done = job["polls"] >= 2 and not self.stuck_jobs  # queued, processing, then complete
            status = "complete" if done else "processing"
            failed = len(job["failed"]) if done else 0
            return 200, {
                "data": {
                    "type": "profile-bulk-import-job",
                    "id": m.group(1),
                    "attributes": {
                        "status": status,
                        "total_count": job["total"],
                        "completed_count": job["total"] - failed if done else 0,
                        "failed_count": failed,
                    },
                }
            }
        if method == "POST" and path == "/api/data-privacy-deletion-jobs":
            self.need(headers.get("Content-Type") == "application/vnd.api+json", 415, "JSON:API media type")
            data = body.get("data") or {}
            self.need(data.get("type") == "data-privacy-deletion-job", 400, "type")
            profile = (((data.get("attributes") or {}).get("profile") or {}).get("data")) or {}
            self.need(profile.get("type") == "profile", 400, "profile type")
            who = profile.get("attributes") or {}
            # Klaviyo: exactly one of email, phone_number or id.
            self.need(len(who) == 1 and set(who) <= {"email", "phone_number", "id"}, 400, "one identifier")
            email = who.get("email") or next(
                (e for e, i in self.profiles.items() if i == who.get("id")), None
            )
            if email in self.profiles:
                del self.profiles[email]
                self.members.discard(email)
            self.applied[("erase", str(email or who))] += 1
            return 202, None
        if method == "GET" and path == "/api/profiles":
            flt = unquote((query.get("filter") or [""])[0])
            m = re.fullmatch(r"any\(email,\[(.*)\]\)", flt)
            self.need(m is not None, 400, "filter")
            emails = json.loads(f"[{m.group(1)}]")
            self.need(len(emails) <= 100, 400, "filter: at most 100 values")
            return 200, {
                "data": [
                    {"type": "profile", "id": self.profiles[e], "attributes": {"email": e}}
                    for e in emails
                    if e in self.profiles
                ]
            }
        self.need(method == "DELETE" and path == f"/api/lists/{lst}/relationships/profiles", 404, "not found")
        ids = [d["id"] for d in body.get("data") or [] if d.get("type") == "profile"]
        self.need(0 < len(ids) <= 1000, 400, "1 to 1000 profiles")
        by_id = {v: k for k, v in self.profiles.items()}
        for pid in ids:
            self.applied[("remove", by_id[pid])] += 1
            self.members.discard(by_id[pid])
        return 204, None


class HubSpotServer(VendorServer):
    """Contacts batch upsert by email (max 100 inputs, 207 Multi-Status for a bad one)."""

    limit = 100

    def __init__(self, token: str, script: list[tuple] | None = None, **ids: str) -> None:
        super().__init__(token, script, **ids)
        self.contacts: dict[str, dict] = {}
        self.batch_sizes: list[int] = []

    def handle(self, method, path, query, headers, body):
        self.need(headers.get("Authorization") == f"Bearer {self.token}", 401, "INVALID_AUTHENTICATION")
        if method == "POST" and path == "/crm/v3/objects/contacts/gdpr-delete":
            self.need(body.get("idProperty") == "email" and "@" in str(body.get("objectId")), 400, "objectId")
            email = body["objectId"]
            self.contacts.pop(email, None)
            self.members.discard(email)
            self.applied[("erase", email)] += 1
            return 204, None
        self.need(method == "POST" and path == "/crm/v3/objects/contacts/batch/upsert", 404, "not found")
        inputs = body.get("inputs") or []
        self.need(0 < len(inputs) <= self.limit, 400, "VALIDATION_ERROR: inputs limit 100")
        self.batch_sizes.append(len(inputs))
        errors, results = [], []
        for item in inputs:
            self.need(item.get("idProperty") == "email", 400, "idProperty")
            props = item.get("properties") or {}
            self.need(props.get("email") == item.get("id"), 400, "id and email differ")
            if item["id"].startswith("reject"):
                errors.append(
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": "Email address is invalid",
                        "context": {"ids": [item["id"]]},
                    }
                )
                continue
            member = props.get(self.ids["property"])
            self.need(member in ("true", "false"), 400, "membership property")
            self.contacts.setdefault(item["id"], {}).update(props)
            self.applied[("upsert" if member == "true" else "remove", item["id"])] += 1
            (self.members.add if member == "true" else self.members.discard)(item["id"])
            results.append({"id": str(len(self.contacts)), "properties": props})
        if errors:
            return 207, {"status": "COMPLETE", "results": results, "numErrors": len(errors), "errors": errors}
        return 200, {"status": "COMPLETE", "results": results}
