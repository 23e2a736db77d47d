"""Channel APIs: each vendor's documented request shape on the http destination's machinery.

Every vendor here is driven through `HttpSender` (http.py): the same rate limit, retries of 429,
5xx and timeouts honouring Retry-After, bisection of a batch a vendor refuses with a 4xx, dead
letters for records that fail for good, and the Redactor over every error text. What differs per
vendor is only the request (`request` builders below), the batch limit, and how the vendor reports
a single bad record inside a 2xx answer (`rejected` parsers). Records carry the vendor's CSV
columns (channel_formats.py) as JSON; removals carry the record as last synced.

Sources (read for the request shapes, limits and error reports used here):
- Google Ads API, Customer Match via OfflineUserDataJobService (create job, addOperations with
  enablePartialFailure, run):
  https://developers.google.com/google-ads/api/docs/remarketing/audience-segments/customer-match/get-started
  https://developers.google.com/google-ads/api/rest/reference/rest/latest/customers.offlineUserDataJobs
  Auth: `Authorization: Bearer <OAuth token>` and `developer-token`. Partial failures come back as
  `partialFailureError.details[].errors[].location.fieldPathElements` naming `operations[index]`.
- Meta Marketing API, custom audience users (POST adds, DELETE removes, `usersreplace` with a
  session replaces the whole audience), max 10,000 rows per request:
  https://developers.facebook.com/docs/marketing-api/reference/custom-audience/users
  https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences
  The answer counts `num_invalid_entries` and lists `invalid_entry_samples`.
- Mailchimp Marketing API, batch subscribe or unsubscribe (POST /lists/{list_id}, max 500 members,
  errors reported per address in `errors[]` of a 200), member tags by subscriber hash (MD5 of the
  lower-cased address): https://mailchimp.com/developer/marketing/api/lists/batch-subscribe-or-unsubscribe/
  https://mailchimp.com/developer/marketing/api/list-member-tags/ ; auth is HTTP Basic with the API
  key, whose `-usN` suffix names the data centre (https://mailchimp.com/developer/marketing/docs/fundamentals/).
- Klaviyo, Bulk Import Profiles (POST /api/profile-bulk-import-jobs, JSON:API, list relationship,
  max 10,000 profiles or 5 MB per job; `revision` header required; `Authorization: Klaviyo-API-Key`):
  https://developers.klaviyo.com/en/reference/bulk_import_profiles ; removal: Get Profiles filtered
  by email then Remove Profiles from List (max 1,000 ids):
  https://developers.klaviyo.com/en/reference/remove_profiles_from_list
- HubSpot CRM, contacts batch upsert by email (max 100 inputs; 207 Multi-Status lists the failed
  ones in `errors[]`): https://developers.hubspot.com/docs/api/crm/contacts

Erasure (SPEC 10, `erase` below: the vendor's own privacy deletion, not just leaving the audience):
- Mailchimp: POST /3.0/lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent (204;
  the member can never be re-imported): https://mailchimp.com/developer/marketing/api/list-members/
- Klaviyo: Request Profile Deletion, POST /api/data-privacy-deletion-jobs with exactly one of
  email, phone_number or id (202, asynchronous GDPR deletion):
  https://developers.klaviyo.com/en/reference/request_profile_deletion
- HubSpot: POST /crm/v3/objects/contacts/gdpr-delete {"objectId": <email>, "idProperty": "email"}
  (204; an unknown address is blocklisted):
  https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/basic/post-crm-v3-objects-contacts-gdpr-delete
- Google Customer Match and Meta custom audiences have no person-level deletion: the erased person
  is removed from the list with the hashed identifiers they were sent (all the vendor ever got).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from flows.activation.config import DestinationConfig
from flows.activation.credentials import display_url
from flows.activation.destinations import DeliveryResult
from flows.activation.destinations.channel_formats import GOOGLE, HUBSPOT, KLAVIYO, MAILCHIMP, META
from flows.activation.destinations.http import (
    BatchOutcome,
    HttpSender,
    Record,
    delivery_result,
    diff_records,
)
from flows.activation.state import Diff
from flows.errors import LifecycleError

GOOGLE_API_VERSION = "v18"
META_API_VERSION = "v21.0"
KLAVIYO_REVISION = "2024-10-15"
# The vendors' documented per-request maxima (the destination's batch_size may only lower them).
# Google: at most 100,000 identifiers per addOperations request, 10,000 per call recommended; an
# operation here holds at most 3 identifiers, so 10,000 operations stay well inside both.
VENDOR_BATCH_LIMIT = {GOOGLE: 10_000, META: 10_000, MAILCHIMP: 500, KLAVIYO: 10_000, HUBSPOT: 100}
KLAVIYO_LOOKUP_LIMIT = 100  # emails per `any(email, [...])` filter page
KLAVIYO_JOB_WAIT_SECONDS = 300.0  # how long one sync waits for a bulk import job to finish
DEFAULT_BASE = {
    GOOGLE: "https://googleads.googleapis.com",
    META: "https://graph.facebook.com",
    KLAVIYO: "https://a.klaviyo.com",
    HUBSPOT: "https://api.hubapi.com",
}
JSON = "application/json"


def _data(record: Record) -> dict[str, Any]:
    return json.loads(record.body) if record.body and record.body != "null" else {}


def _json(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: MD5 of the lower-cased address (the address is already canonical)."""
    return hashlib.md5(email.lower().encode(), usedforsecurity=False).hexdigest()


def mailchimp_base(api_key: str) -> str:
    """https://<dc>.api.mailchimp.com from a key ending in -<dc> (e.g. -us6)."""
    dc = api_key.rsplit("-", 1)[-1] if "-" in api_key else ""
    if not dc.isalnum():
        raise LifecycleError(
            "the Mailchimp API key has no data-centre suffix (like -us6)",
            hint="copy the whole key from Mailchimp (Profile > Extras > API keys), or set url_env",
        )
    return f"https://{dc}.api.mailchimp.com"


def _fields(data: dict[str, Any], names: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """The vendor's fields, named by (vendor field, export column), for the columns with a value."""
    return {field: data[column] for field, column in names if data.get(column)}


# (vendor field, export column) of the profile attributes each vendor is sent.
MAILCHIMP_MERGE_FIELDS = (("FNAME", "First Name"), ("LNAME", "Last Name"))
KLAVIYO_PROFILE_FIELDS = (
    ("email", "Email"),
    ("first_name", "First Name"),
    ("last_name", "Last Name"),
    ("phone_number", "Phone Number"),
)
HUBSPOT_CONTACT_FIELDS = (
    ("email", "Email"),
    ("firstname", "First Name"),
    ("lastname", "Last Name"),
    ("phone", "Phone Number"),
)


def _chunks(records: list[Record], size: int) -> list[list[Record]]:
    return [records[i : i + size] for i in range(0, len(records), size)]


class Channel:
    """One vendor: auth headers, batch limit, and how it delivers upserts and deletes."""

    type: str = ""

    def __init__(self, dest: DestinationConfig, segment: str, run_id: str, base: str, token: str) -> None:
        self.dest = dest
        self.segment = segment
        self.run_id = run_id
        self.base = base.rstrip("/")
        self.token = token
        self.batch = min(dest.batch_size, VENDOR_BATCH_LIMIT[self.type])

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def deliver(self, sender: HttpSender, records: list[Record], outcome: BatchOutcome, diff: Diff) -> None:
        upserts = [r for r in records if r.op == "upsert"]
        deletes = [r for r in records if r.op == "delete"]
        rejected = self.rejected_by(sender)
        for chunk in _chunks(upserts, self.batch):
            sender.send(self.segment, self.run_id, chunk, outcome, self.upsert_request, rejected)
        self.deliver_deletes(sender, deletes, outcome)

    def deliver_deletes(self, sender: HttpSender, deletes: list[Record], outcome: BatchOutcome) -> None:
        rejected = self.rejected_by(sender)
        for chunk in _chunks(deletes, self.batch):
            sender.send(self.segment, self.run_id, chunk, outcome, self.delete_request, rejected)

    def upsert_request(self, records: list[Record]) -> tuple[str, str, bytes | None, dict[str, str]]:
        raise NotImplementedError

    def delete_request(self, records: list[Record]) -> tuple[str, str, bytes | None, dict[str, str]]:
        raise NotImplementedError

    def rejected(self, resp: httpx.Response, records: list[Record]) -> dict[str, str]:
        return {}

    def rejected_by(self, sender: HttpSender) -> Callable[[httpx.Response, list[Record]], dict[str, str]]:
        """How a 2xx answer's rejected records are read for batches sent through `sender` (a vendor
        that must ask again, as Klaviyo's import job, does so through that same sender)."""
        return self.rejected

    # Columns of the exported row the vendor needs to find the person again (erasure keeps only these).
    IDENTIFIERS: tuple[str, ...] = ()

    @classmethod
    def erase_identifiers(cls, data: dict[str, Any]) -> dict[str, Any]:
        """What an erasure must keep, until the vendor confirms, to delete the person there."""
        return {k: data[k] for k in cls.IDENTIFIERS if data.get(k)}

    def erase(self, sender: HttpSender, records: list[Record], outcome: BatchOutcome) -> None:
        """Delete erased persons at the vendor; `records` carry `erase_identifiers` as body."""
        self.deliver_deletes(sender, records, outcome)

    def _each(
        self,
        sender: HttpSender,
        records: list[Record],
        outcome: BatchOutcome,
        request: Callable[[dict[str, Any]], tuple[str, str, bytes | None] | None],
        done: tuple[int, ...] = (),
    ) -> None:
        """One request per record (the privacy endpoints take one person each); `done` lists the
        non-2xx statuses that mean the person is already gone."""
        for r in records:
            built = request(_data(r))
            if built is None:
                outcome.dead.append((r, None, "no identifier left to delete the person by"))
                continue
            method, url, body = built
            status, _, error = sender.call(method, url, body, {}, 1)
            if status is not None and (200 <= status < 300 or status in done):
                outcome.delivered.append(r)
            else:
                outcome.dead.append((r, status, error))


class GoogleCustomerMatch(Channel):
    """An offline user data job per sync: create, addOperations (create/remove), run."""

    type = GOOGLE
    IDENTIFIERS = ("Email", "Phone", "First Name", "Last Name", "Country", "Zip")

    def __init__(self, *args: Any, developer_token: str, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.developer_token = developer_token
        self.customer = f"customers/{self.dest.customer_id}"
        self.job: str | None = None

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "developer-token": self.developer_token}

    @staticmethod
    def identifiers(data: dict[str, Any]) -> list[dict[str, Any]]:
        ids: list[dict[str, Any]] = []
        if data.get("Email"):
            ids.append({"hashedEmail": data["Email"]})
        if data.get("Phone"):
            ids.append({"hashedPhoneNumber": data["Phone"]})
        if all(data.get(k) for k in ("First Name", "Last Name", "Country", "Zip")):
            ids.append(
                {
                    "addressInfo": {
                        "hashedFirstName": data["First Name"],
                        "hashedLastName": data["Last Name"],
                        "countryCode": data["Country"],
                        "postalCode": data["Zip"],
                    }
                }
            )
        return ids

    def _operations(self, records: list[Record]) -> tuple[str, str, bytes | None, dict[str, str]]:
        ops = [
            {("create" if r.op == "upsert" else "remove"): {"userIdentifiers": self.identifiers(_data(r))}}
            for r in records
        ]
        body = {"operations": ops, "enablePartialFailure": True}
        return "POST", f"{self.base}/{GOOGLE_API_VERSION}/{self.job}:addOperations", _json(body), {}

    upsert_request = _operations
    delete_request = _operations

    def rejected(self, resp: httpx.Response, records: list[Record]) -> dict[str, str]:
        failure = (resp.json() or {}).get("partialFailureError") or {}
        bad: dict[str, str] = {}
        for detail in failure.get("details") or []:
            for err in detail.get("errors") or []:
                path = (err.get("location") or {}).get("fieldPathElements") or []
                for el in path:
                    idx = el.get("index")
                    if el.get("fieldName") == "operations" and isinstance(idx, int) and idx < len(records):
                        bad[records[idx].key] = f"Google Ads: {err.get('message', 'rejected')}"
        return bad

    def deliver(self, sender: HttpSender, records: list[Record], outcome: BatchOutcome, diff: Diff) -> None:
        if not records:
            return
        body = {
            "job": {
                "type": "CUSTOMER_MATCH_USER_LIST",
                "customerMatchUserListMetadata": {
                    "userList": f"{self.customer}/userLists/{self.dest.audience_id}"
                },
            }
        }
        url = f"{self.base}/{GOOGLE_API_VERSION}/{self.customer}/offlineUserDataJobs:create"
        status, resp, error = sender.call("POST", url, _json(body), {}, len(records))
        if resp is None or not (200 <= (status or 0) < 300):
            outcome.dead.extend(
                (r, status, error or "could not create the offline user data job") for r in records
            )
            return
        self.job = resp.json()["resourceName"]
        added = BatchOutcome()
        # Removes first: a person who left and came back in one run ends as a member.
        ordered = [r for r in records if r.op == "delete"] + [r for r in records if r.op == "upsert"]
        for chunk in _chunks(ordered, self.batch):
            sender.send(self.segment, self.run_id, chunk, added, self._operations, self.rejected)
        outcome.dead.extend(added.dead)
        if not added.delivered:
            return
        status, _, error = sender.call(
            "POST", f"{self.base}/{GOOGLE_API_VERSION}/{self.job}:run", b"{}", {}, len(added.delivered)
        )
        if status is not None and 200 <= status < 300:
            outcome.delivered.extend(added.delivered)
        else:  # the job never ran: nothing it held was applied
            outcome.dead.extend((r, status, error or "the job did not run") for r in added.delivered)

    def erase(self, sender: HttpSender, records: list[Record], outcome: BatchOutcome) -> None:
        self.deliver(sender, records, outcome, None)  # a job of remove operations


class MetaCustomAudience(Channel):
    """POST /{audience}/users adds, DELETE removes; or usersreplace in one session."""

    type = META
    SCHEMA = ("EMAIL", "PHONE", "FN", "LN")
    FIELDS = ("email", "phone", "fn", "ln")
    IDENTIFIERS = FIELDS

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        # One session per sync run and operation (Meta groups a session's batches); stable per run.
        self.session_id = self._session("add")
        self.batch_seq = 0
        self.total = 0
        self.batches = 1

    def _session(self, op: str) -> int:
        return int(hashlib.sha256(f"{self.run_id}/{self.segment}/{op}".encode()).hexdigest()[:12], 16)

    def _payload(self, records: list[Record], last: bool) -> bytes:
        self.batch_seq += 1
        data = [[_data(r).get(f) or "" for f in self.FIELDS] for r in records]
        return _json(
            {
                "payload": {"schema": list(self.SCHEMA), "data": data},
                "session": {
                    "session_id": self.session_id,
                    "batch_seq": self.batch_seq,
                    "last_batch_flag": last,
                    "estimated_num_total": self.total,
                },
            }
        )

    def _request(
        self, method: str, path: str, records: list[Record]
    ) -> tuple[str, str, bytes, dict[str, str]]:
        last = self.batch_seq + 1 >= self.batches
        url = f"{self.base}/{META_API_VERSION}/{self.dest.audience_id}/{path}"
        return method, url, self._payload(records, last), {}

    def upsert_request(self, records: list[Record]) -> tuple[str, str, bytes | None, dict[str, str]]:
        return self._request("POST", "usersreplace" if self.dest.replace_audience else "users", records)

    def delete_request(self, records: list[Record]) -> tuple[str, str, bytes | None, dict[str, str]]:
        return self._request("DELETE", "users", records)

    def rejected(self, resp: httpx.Response, records: list[Record]) -> dict[str, str]:
        body = resp.json() or {}
        samples = body.get("invalid_entry_samples") or {}
        values = set(samples) if isinstance(samples, dict) else {str(s) for s in samples}
        if not values:
            return {}
        bad = {}
        for r in records:
            hit = [v for v in _data(r).values() if v and v in values]
            if hit:
                reason = samples.get(hit[0]) if isinstance(samples, dict) else None
                bad[r.key] = f"Meta: invalid entry ({reason or 'invalid_entry_samples'})"
        return bad

    def deliver(self, sender: HttpSender, records: list[Record], outcome: BatchOutcome, diff: Diff) -> None:
        if self.dest.replace_audience:
            # The whole current audience replaces what Meta holds: removes need no call of their own.
            current = diff_records(_current_only(diff))
            self.total = len(current)
            self.batches = max(1, -(-len(current) // self.batch))
            sent = BatchOutcome()
            for chunk in _chunks(current, self.batch):
                sender.send(self.segment, self.run_id, chunk, sent, self.upsert_request, self.rejected)
            outcome.dead.extend(sent.dead)
            outcome.delivered.extend(sent.delivered)
            if not sent.dead:
                outcome.delivered.extend(r for r in records if r.op == "delete")
            return
        upserts = [r for r in records if r.op == "upsert"]
        deletes = [r for r in records if r.op == "delete"]
        self._session_send(sender, "add", upserts, self.upsert_request, outcome)
        self._session_send(sender, "remove", deletes, self.delete_request, outcome)

    def _session_send(
        self,
        sender: HttpSender,
        op: str,
        group: list[Record],
        build: Callable[[list[Record]], tuple[str, str, bytes | None, dict[str, str]]],
        outcome: BatchOutcome,
    ) -> None:
        self.total, self.batch_seq, self.session_id = len(group), 0, self._session(op)
        self.batches = max(1, -(-len(group) // self.batch))
        for chunk in _chunks(group, self.batch):
            sender.send(self.segment, self.run_id, chunk, outcome, build, self.rejected)

    def erase(self, sender: HttpSender, records: list[Record], outcome: BatchOutcome) -> None:
        # Always DELETE users, also for a replace-mode audience: the next replace would drop the
        # person too, but an erasure must not wait for one.
        self._session_send(sender, "erase", records, self.delete_request, outcome)


def _current_only(diff: Diff) -> Diff:
    """The full current list as adds (Meta replace sessions send everything)."""
    empty = diff.removes.head(0)
    return Diff(
        diff.destination, diff.segment, diff.columns, diff.current, diff.current, diff.current.head(0), empty
    )


class Mailchimp(Channel):
    """Batch subscribe/update (tagged with the segment); removal = the segment tag set inactive."""

    type = MAILCHIMP

    def auth_headers(self) -> dict[str, str]:
        basic = base64.b64encode(f"lifecycle:{self.token}".encode()).decode()
        return {"Authorization": f"Basic {basic}"}

    def upsert_request(self, records: list[Record]) -> tuple[str, str, bytes | None, dict[str, str]]:
        members = []
        for r in records:
            d = _data(r)
            merge = _fields(d, MAILCHIMP_MERGE_FIELDS)
            members.append(
                {
                    "email_address": d["Email Address"],
                    "status": "subscribed",
                    "merge_fields": merge,
                    "tags": [self.segment],
                }
            )
        body = {"members": members, "update_existing": True, "sync_tags": False}
        return "POST", f"{self.base}/3.0/lists/{self.dest.audience_id}", _json(body), {}

    def rejected(self, resp: httpx.Response, records: list[Record]) -> dict[str, str]:
        errors = (resp.json() or {}).get("errors") or []
        by_email = {str(e.get("email_address", "")).lower(): e for e in errors}
        bad = {}
        for r in records:
            err = by_email.get(str(_data(r).get("Email Address", "")).lower())
            if err:
                bad[r.key] = f"Mailchimp {err.get('error_code', 'error')}: {err.get('error', '')}"
        return bad

    def deliver_deletes(self, sender: HttpSender, deletes: list[Record], outcome: BatchOutcome) -> None:
        for r in deletes:  # one call per member: the tags endpoint takes one subscriber hash
            email = str(_data(r).get("Email Address") or "")
            url = f"{self.base}/3.0/lists/{self.dest.audience_id}/members/{subscriber_hash(email)}/tags"
            body = _json({"tags": [{"name": self.segment, "status": "inactive"}]})
            status, _, error = sender.call("POST", url, body, {}, 1)
            if status is not None and (200 <= status < 300 or status == 404):  # 404: not a member
                outcome.delivered.append(r)
            else:
                outcome.dead.append((r, status, error))

    @classmethod
    def erase_identifiers(cls, data: dict[str, Any]) -> dict[str, Any]:
        # The member id is all the privacy call needs: the address itself is not kept.
        email = data.get("Email Address")
        return {"subscriber_hash": subscriber_hash(email)} if email else {}

    def erase(self, sender: HttpSender, records: list[Record], outcome: BatchOutcome) -> None:
        lists = f"{self.base}/3.0/lists/{self.dest.audience_id}/members"

        def request(d: dict[str, Any]) -> tuple[str, str, bytes | None] | None:
            member = d.get("subscriber_hash")
            return ("POST", f"{lists}/{member}/actions/delete-permanent", None) if member else None

        self._each(sender, records, outcome, request, done=(404,))  # 404: not (or no longer) a member


class Klaviyo(Channel):
    """Profile bulk-import jobs into the list; removal by profile id from the list."""

    type = KLAVIYO
    HEADERS = {
        "revision": KLAVIYO_REVISION,
        "Content-Type": "application/vnd.api+json",
        "Accept": "application/vnd.api+json",
    }

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Klaviyo-API-Key {self.token}", **self.HEADERS}

    def upsert_request(self, records: list[Record]) -> tuple[str, str, bytes | None, dict[str, str]]:
        profiles = []
        for r in records:
            profiles.append({"type": "profile", "attributes": _fields(_data(r), KLAVIYO_PROFILE_FIELDS)})
        body = {
            "data": {
                "type": "profile-bulk-import-job",
                "attributes": {"profiles": {"data": profiles}},
                "relationships": {"lists": {"data": [{"type": "list", "id": self.dest.audience_id}]}},
            }
        }
        return "POST", f"{self.base}/api/profile-bulk-import-jobs", _json(body), {}

    def rejected_by(self, sender: HttpSender) -> Callable[[httpx.Response, list[Record]], dict[str, str]]:
        return functools.partial(self.import_errors, sender)

    def import_errors(
        self, sender: HttpSender, resp: httpx.Response, records: list[Record]
    ) -> dict[str, str]:
        """A 202 only queues the import: wait for the job (polled through `sender`), then read its
        import errors.

        Get Bulk Import Profiles Job (status queued | processing | complete | cancelled) and Get
        Errors for Bulk Import Profiles Job (`original_payload` names the profile):
        https://developers.klaviyo.com/en/reference/get_bulk_import_profiles_job
        https://developers.klaviyo.com/en/reference/get_errors_for_bulk_import_profiles_job
        A job still running after KLAVIYO_JOB_WAIT_SECONDS, or cancelled, fails its records: the
        next sync sends them again, and an import is an upsert, so nothing is applied twice.
        """
        job = ((resp.json() if resp.content else None) or {}).get("data") or {}
        if not job.get("id"):
            return {}
        url = f"{self.base}/api/profile-bulk-import-jobs/{job['id']}"
        status = (job.get("attributes") or {}).get("status")
        waited, delay = 0.0, 0.25
        while status not in ("complete", "cancelled"):
            if waited >= KLAVIYO_JOB_WAIT_SECONDS:
                why = (
                    f"Klaviyo import job {job['id']} still {status} after {waited:.0f}s; sent again next sync"
                )
                return {r.key: why for r in records}
            sender.sleep(delay)
            waited += delay
            delay = min(delay * 2, 10.0)
            code, got, error = sender.call("GET", url, None, {}, len(records))
            if got is None or not (200 <= (code or 0) < 300):
                return {r.key: error or f"Klaviyo import job {job['id']}: HTTP {code}" for r in records}
            attrs = (got.json().get("data") or {}).get("attributes") or {}
            status = attrs.get("status")
            if status == "complete" and not attrs.get("failed_count"):
                return {}
        if status == "cancelled":
            return {r.key: f"Klaviyo import job {job['id']} was cancelled" for r in records}
        by_email = {str(_data(r).get("Email") or "").lower(): r for r in records}
        bad: dict[str, str] = {}
        page: str | None = f"{url}/import-errors"
        while page:
            code, got, error = sender.call("GET", page, None, {}, len(records))
            if got is None or not (200 <= (code or 0) < 300):  # errors unknown: fail what is not known
                return {r.key: error or "Klaviyo import errors could not be read" for r in records}
            body = got.json() or {}
            for err in body.get("data") or []:
                attrs = err.get("attributes") or {}
                payload = attrs.get("original_payload") or {}
                email = str(payload.get("email") or (payload.get("attributes") or {}).get("email") or "")
                email = email.lower()
                if email in by_email:
                    bad[by_email[email].key] = (
                        f"Klaviyo {attrs.get('code', 'error')}: {attrs.get('detail', '')}"
                    )
            page = (body.get("links") or {}).get("next")
        return bad

    def deliver_deletes(self, sender: HttpSender, deletes: list[Record], outcome: BatchOutcome) -> None:
        for chunk in _chunks(deletes, KLAVIYO_LOOKUP_LIMIT):
            emails = {str(_data(r).get("Email") or "").lower(): r for r in chunk}
            listed = ",".join(json.dumps(e) for e in emails)
            query = quote(f"any(email,[{listed}])")
            url = f"{self.base}/api/profiles?filter={query}&page[size]={KLAVIYO_LOOKUP_LIMIT}"
            status, resp, error = sender.call("GET", url, None, {}, len(chunk))
            if resp is None or not (200 <= (status or 0) < 300):
                outcome.dead.extend((r, status, error) for r in chunk)
                continue
            ids = {
                str(p["attributes"]["email"]).lower(): p["id"] for p in (resp.json() or {}).get("data") or []
            }
            found = [{"type": "profile", "id": ids[e]} for e in emails if e in ids]
            if found:
                url = f"{self.base}/api/lists/{self.dest.audience_id}/relationships/profiles"
                status, _, error = sender.call("DELETE", url, _json({"data": found}), {}, len(found))
                if not (status is not None and 200 <= status < 300):
                    outcome.dead.extend((r, status, error) for r in chunk)
                    continue
            outcome.delivered.extend(chunk)  # not found in Klaviyo: already not on the list

    IDENTIFIERS = ("Email", "Phone Number")

    @classmethod
    def erase_identifiers(cls, data: dict[str, Any]) -> dict[str, Any]:
        # Klaviyo refuses a deletion job with more than one identifier: the address, else the phone.
        for k in cls.IDENTIFIERS:
            if data.get(k):
                return {k: data[k]}
        return {}

    def erase(self, sender: HttpSender, records: list[Record], outcome: BatchOutcome) -> None:
        def request(d: dict[str, Any]) -> tuple[str, str, bytes | None] | None:
            if d.get("Email"):
                who = {"email": d["Email"]}
            elif d.get("Phone Number"):
                who = {"phone_number": d["Phone Number"]}
            else:
                return None
            body = {
                "data": {
                    "type": "data-privacy-deletion-job",
                    "attributes": {"profile": {"data": {"type": "profile", "attributes": who}}},
                }
            }
            return "POST", f"{self.base}/api/data-privacy-deletion-jobs", _json(body)

        self._each(sender, records, outcome, request)


class HubSpot(Channel):
    """Contacts batch upsert by email; membership is the boolean property lifecycle_<segment>."""

    type = HUBSPOT
    IDENTIFIERS = ("Email",)

    @property
    def membership_property(self) -> str:
        return f"lifecycle_{self.segment}"

    def _inputs(self, records: list[Record], member: bool) -> bytes:
        inputs = []
        for r in records:
            d = _data(r)
            # A member gets every field; a removal only names the contact (email) and the flag.
            props = _fields(d, HUBSPOT_CONTACT_FIELDS if member else HUBSPOT_CONTACT_FIELDS[:1])
            props[self.membership_property] = "true" if member else "false"
            inputs.append({"idProperty": "email", "id": d.get("Email"), "properties": props})
        return _json({"inputs": inputs})

    def upsert_request(self, records: list[Record]) -> tuple[str, str, bytes | None, dict[str, str]]:
        return "POST", f"{self.base}/crm/v3/objects/contacts/batch/upsert", self._inputs(records, True), {}

    def delete_request(self, records: list[Record]) -> tuple[str, str, bytes | None, dict[str, str]]:
        return "POST", f"{self.base}/crm/v3/objects/contacts/batch/upsert", self._inputs(records, False), {}

    def rejected(self, resp: httpx.Response, records: list[Record]) -> dict[str, str]:
        if resp.status_code != 207:
            return {}
        errors = (resp.json() or {}).get("errors") or []
        bad = {}
        by_email = {str(_data(r).get("Email") or "").lower(): r for r in records}
        for err in errors:
            ids: list[str] = [str(err["id"]).lower()] if err.get("id") else []
            for value in (err.get("context") or {}).values():
                ids += [str(v).lower() for v in (value if isinstance(value, list) else [value])]
            for email in ids:
                if email in by_email:
                    bad[by_email[email].key] = (
                        f"HubSpot {err.get('category', 'error')}: {err.get('message', '')}"
                    )
        if errors and not bad:  # errors we cannot pin on a record: fail the batch, never guess
            return {r.key: f"HubSpot: {errors[0].get('message', 'error')}" for r in records}
        return bad

    def erase(self, sender: HttpSender, records: list[Record], outcome: BatchOutcome) -> None:
        url = f"{self.base}/crm/v3/objects/contacts/gdpr-delete"

        def request(d: dict[str, Any]) -> tuple[str, str, bytes | None] | None:
            email = d.get("Email")
            return ("POST", url, _json({"objectId": email, "idProperty": "email"})) if email else None

        self._each(sender, records, outcome, request, done=(404,))


CHANNELS: dict[str, type[Channel]] = {
    GOOGLE: GoogleCustomerMatch,
    META: MetaCustomAudience,
    MAILCHIMP: Mailchimp,
    KLAVIYO: Klaviyo,
    HUBSPOT: HubSpot,
}


def open_channel(
    dest: DestinationConfig,
    segment: str,
    *,
    token: str,
    base_url: str | None,
    run_id: str,
    logger: logging.Logger | logging.LoggerAdapter,
    developer_token: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> tuple[Channel, HttpSender]:
    """The vendor's Channel and an HttpSender with its auth headers (the caller closes the sender)."""
    base = base_url or (mailchimp_base(token) if dest.type == MAILCHIMP else DEFAULT_BASE[dest.type])
    kw: dict[str, Any] = {"developer_token": developer_token or ""} if dest.type == GOOGLE else {}
    channel = CHANNELS[dest.type](dest, segment, run_id, base, token, **kw)
    sender = HttpSender(
        dest,
        base,
        token,
        logger=logger,
        sleep=sleep,
        transport=transport,
        auth_headers=channel.auth_headers(),
        secrets=(developer_token,),
    )
    return channel, sender


def deliver_channel(
    dest: DestinationConfig,
    diff: Diff,
    *,
    token: str,
    base_url: str | None,
    run_id: str,
    logger: logging.Logger | logging.LoggerAdapter,
    developer_token: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> DeliveryResult:
    """Push one diff to a channel's API; what it confirmed moves sync state, the rest dead-letters."""
    channel, sender = open_channel(
        dest,
        diff.segment,
        token=token,
        base_url=base_url,
        run_id=run_id,
        logger=logger,
        developer_token=developer_token,
        sleep=sleep,
        transport=transport,
    )
    base = channel.base
    records = diff_records(diff, delete_bodies=True)
    outcome = BatchOutcome()
    try:
        channel.deliver(sender, records, outcome, diff)
    finally:
        sender.close()
    return delivery_result(diff, records, outcome, sender, logger, f"{dest.type} {display_url(base)}")
