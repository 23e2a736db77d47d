"""The erasure ledger and the erasure of raw records, on tiny hand-written raw files.

Plain functions, no Prefect and no dbt: the user's raw files are ingested as `lifecycle ingest`
does (flows.sources.ingest), then the erasure step runs (`prefect=False`: no server here). Each
test takes a few seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from pathlib import Path

import duckdb
import pytest

from flows.privacy import erase, keys, ledger
from flows.settings import Settings
from flows.sources.ingest import ingest_source
from tests.privacy.scan import scan_data_dir

ERASED = "Jane.Doe+news@Example.com"  # as the person typed it
ERASED_KEY = "jane.doe+news@example.com"  # its match key (the one email rule)
OTHER = "bob.keeper@example.org"


def _sendgrid(path: Path, events: list[tuple[str, str, str]]) -> None:
    """A SendGrid Event Webhook post (JSON array), as in docs.sendgrid.com 'Event Webhook'."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            [
                {"email": email, "timestamp": 1788626885, "event": event, "sg_event_id": sg_id}
                for email, event, sg_id in events
            ]
        )
    )


def _identify(path: Path, anonymous_id: str, user_id: str, email: str, name: str) -> None:
    """A Segment identify call (segment.com/docs/connections/spec/identify)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    msg = {
        "anonymousId": anonymous_id,
        "userId": user_id,
        "messageId": hashlib.md5(f"{user_id}{email}".encode()).hexdigest(),
        "type": "identify",
        "timestamp": "2026-09-04T10:07:41.833Z",
        "context": {
            "ip": "203.0.113.7" if "Jan" in name else "198.51.100.9",
            "userAgent": f"Mozilla/5.0 ({name.split()[0]}OS)",
        },
        "traits": {"email": email, "name": name},
    }
    with path.open("a") as fh:
        fh.write(json.dumps(msg) + "\n")


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("LIFECYCLE_ERASURE_KEY", raising=False)
    s = Settings(data_dir=tmp_path / "data")
    _identify(s.raw_dir / "web" / "d1.jsonl", "anon-jane-1", "user-jane", ERASED, "Janet Quux")
    _identify(s.raw_dir / "web" / "d1.jsonl", "anon-bob-1", "user-bob", OTHER, "Bob Keeper")
    _sendgrid(
        s.raw_dir / "email" / "d1.json",
        [(ERASED, "delivered", "sg-1"), (OTHER, "delivered", "sg-2"), (ERASED.upper(), "open", "sg-3")],
    )
    for source in ("web", "email"):
        ingest_source(s, source)
    return s


def _request(s: Settings, rows: list[tuple[str, str]], name: str = "requests.csv") -> None:
    path = s.raw_dir / "erasure" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("email,requested_at\n" + "".join(f"{e},{t}\n" for e, t in rows))
    ingest_source(s, "erasure")


def _query(s: Settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(s.warehouse_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_sql_hmac_is_rfc2104_hmac_sha256() -> None:
    con = duckdb.connect()
    for key in (b"k", b"x" * 32, b"y" * 100):  # short, typical, longer than a block (hashed first)
        keys.register_hmac(con, key)
        got = con.execute("select lifecycle_hmac(?)", [ERASED_KEY]).fetchall()[0][0]
        assert got == hmac.new(key, ERASED_KEY.encode(), hashlib.sha256).hexdigest()
    # the key is in no table of the connection
    assert con.execute("select count(*) from duckdb_tables()").fetchall()[0][0] == 0


def test_key_created_once_private_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIFECYCLE_ERASURE_KEY", raising=False)
    s = Settings(data_dir=tmp_path / "d")
    assert keys.load_key(s, create=False) is None
    first = keys.load_key(s)
    path = keys.key_path(s)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.load_key(s) == first and len(first) == 32
    monkeypatch.setenv("LIFECYCLE_ERASURE_KEY", "ab" * 32)
    assert keys.load_key(Settings(data_dir=tmp_path / "d")) == bytes.fromhex("ab" * 32)


def test_erasure_keeps_only_keyed_hashes_and_redacts_raw(data: Settings) -> None:
    _request(data, [(ERASED, "2026-11-15T09:08:25Z")])
    result = erase.erase(data, prefect=False)
    assert result.erasures == 1
    assert "1 erasure(s) applied" in result.summary_line() and "@" not in result.summary_line()

    key = keys.load_key(data, create=False)
    hashes = _query(data, f"select key_hash, kind from {ledger.LEDGER}")
    assert (keys.hmac_hex(key, ERASED_KEY), "email") in hashes
    assert (keys.hmac_hex(key, "anon-jane-1"), "web_id") in hashes  # linked by the identify
    assert (keys.hmac_hex(key, "user-jane"), "web_id") in hashes
    # No plain address, name or id in the privacy schema, nor anywhere else under DIR but raw/.
    needles = [ERASED_KEY, "janet quux", "anon-jane-1", "user-jane", "203.0.113.7", "janetos"]
    assert scan_data_dir(data.root, needles) == []
    # The other person is untouched; the erased person's sends stay as anonymous facts.
    assert _query(
        data, "select count(*) from raw.sendgrid_events where email = 'bob.keeper@example.org'"
    ) == [(1,)]
    assert _query(
        data, "select count(*), count(email) from raw.sendgrid_events where sg_event_id <> 'sg-2'"
    ) == [(2, 0)]
    log = _query(data, f"select relation, action, rows from {ledger.LOG} order by relation")
    assert ("raw.sendgrid_events", "redact", 2) in log
    assert ("raw.segment_events", "redact", 1) in log
    # Re-running applies nothing twice.
    assert erase.erase(data, prefect=False).erasures == 0


def test_an_address_written_with_a_json_escape_is_erased(data: Settings) -> None:
    # JSON lets a sender write "@" as \u0040 (RFC 8259 section 7); the raw text then has no "@".
    escaped = "esc.person@example.net"
    web = data.raw_dir / "web" / "d2.jsonl"
    _identify(web, "anon-esc-1", "user-esc", escaped, "Esc Person")
    web.write_text(web.read_text().replace("@", "\\u0040"))
    assert "@" not in web.read_text()
    ingest_source(data, "web")
    _request(data, [(escaped, "2026-11-15T09:08:25Z")])
    assert erase.erase(data, prefect=False).erasures == 1
    key = keys.load_key(data, create=False)
    hashes = _query(data, f"select key_hash from {ledger.LEDGER}")
    assert (keys.hmac_hex(key, "anon-esc-1"),) in hashes  # linked through the escaped address
    assert scan_data_dir(data.root, ["anon-esc-1", "user-esc", "esc person", "escos"]) == []
    # Jane's rows are not touched by Esc's erasure.
    jane = "select count(*) from raw.segment_events where anonymous_id = 'anon-jane-1'"
    assert _query(data, jane) == [(1,)]


def test_wrong_or_missing_key_fails_closed(data: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    _request(data, [(ERASED, "2026-11-15T09:08:25Z")])
    erase.erase(data, prefect=False)
    monkeypatch.setenv("LIFECYCLE_ERASURE_KEY", "cd" * 32)
    with pytest.raises(keys.ErasureKeyError, match="not the one the erasure ledger was written with"):
        erase.erase(Settings(data_dir=data.root), prefect=False)
    monkeypatch.delenv("LIFECYCLE_ERASURE_KEY")
    keys.key_path(data).unlink()
    with pytest.raises(keys.ErasureKeyError, match="erasure key is missing"):
        erase.erase(Settings(data_dir=data.root), prefect=False)


def test_quarantined_request_with_bad_requested_at_still_erases(data: Settings) -> None:
    _request(data, [(ERASED, "yesterday")])
    assert _query(data, "select count(*) from raw.rejects where source = 'erasure'") == [(1,)]
    result = erase.erase(data, prefect=False)
    assert result.erasures == 1
    assert _query(
        data, "select count(email) from raw.sendgrid_events where sg_event_id in ('sg-1', 'sg-3')"
    ) == [(0,)]
    assert scan_data_dir(data.root, [ERASED_KEY, "janet quux"]) == []


def test_late_and_reingested_records_are_redacted_at_ingest(data: Settings) -> None:
    _request(data, [(ERASED, "2026-11-15T09:08:25Z")])
    erase.erase(data, prefect=False)
    # A late event for the address, a late page view from the erased device, and a copy of an
    # old file (a new name, so it loads again).
    _sendgrid(data.raw_dir / "email" / "late.json", [(" jane.doe+news@example.COM ", "click", "sg-9")])
    _identify(data.raw_dir / "web" / "late.jsonl", "anon-jane-1", "user-jane-2", "x@y.invalid", "Janet Quux")
    old = (data.raw_dir / "email" / "d1.json").read_text()
    (data.raw_dir / "email" / "d1-copy.json").write_text(old.replace("sg-", "sgc-"))
    for source in ("web", "email"):
        ingest_source(data, source)
    result = erase.redact_after_ingest(data)
    assert result.erasures == 0 and result.late == 1
    assert "redacted at ingest" in result.summary_line()
    assert _query(data, "select count(*) from raw.sendgrid_events where lower(email) like '%jane%'") == [(0,)]
    assert scan_data_dir(data.root, [ERASED_KEY, "janet quux", "user-jane-2"]) == []
    assert ("redact_late_records",) in _query(data, f"select distinct action from {ledger.LOG}")
    # Nothing new: the watermark keeps the check to new rows, and nothing is redacted again.
    assert erase.redact_after_ingest(data).late == 0


def test_sync_state_in_vendor_formats_keeps_no_personal_key(data: Settings) -> None:
    """Channel destinations store what they sent under the vendor's own headers ("Email",
    "Email Address", "First Name", "FNAME"): nothing of the erased person stays in sync state, and the vendor
    deletion waits with the one identifier Mailchimp needs."""
    from flows.activation.state import ensure_schema

    con = duckdb.connect(str(data.warehouse_path))
    try:
        ensure_schema(con)
        con.execute("create schema if not exists intermediate")
        con.execute(
            "create table intermediate.int_identity_map as select * from (values "
            f"('p_jane', 'email', '{ERASED_KEY}'), ('p_bob', 'email', '{OTHER}')) "
            "as t(person_id, identifier_type, identifier_value)"
        )
        for key, email, name in (("p_jane", ERASED, "Janet Quux"), ("p_bob", OTHER, "Bob Keeper")):
            record = json.dumps({"Email Address": email, "First Name": name, "FNAME": name, "lead_score": 7})
            con.execute(
                "insert into sync.record_state values ('mailchimp', 'nurture_leads', ?, 'h', ?, 'r1', now())",
                [key, record],
            )
    finally:
        con.close()
    _request(data, [(ERASED, "2026-11-15T09:08:25Z")])
    result = erase.erase(data, prefect=False)
    rows = dict(_query(data, "select record_key, cast(record as varchar) from sync.record_state"))
    # `mailchimp` pushes to Mailchimp's API (segments.yml): the erased person's state row became a
    # queued vendor deletion holding only Mailchimp's subscriber hash. Without credentials on this
    # machine it stays pending, and the erasure says so in its one line.
    assert set(rows) == {"p_bob"} and "Bob Keeper" in rows["p_bob"]
    queued = _query(
        data, "select record_key, cast(identifiers as varchar), last_error from privacy.vendor_erasures"
    )
    member = hashlib.md5(ERASED_KEY.encode()).hexdigest()
    assert [(k, json.loads(i)) for k, i, _ in queued] == [("p_jane", {"subscriber_hash": member})]
    assert "LIFECYCLE_MAILCHIMP_API_KEY is not set" in queued[0][2]
    assert "1 vendor deletion(s) pending" in result.summary_line()
    assert scan_data_dir(data.root, [ERASED_KEY, "janet quux"]) == []


def test_needle_filter_keeps_exactly_the_texts_holding_a_needle() -> None:
    # Needles are literals: regex metacharacters and quotes in a name or address match themselves.
    needles = ["o'brien (jr.)", "a+b@x.com", "[x]{2}", "c:\\path\\n", "anne.marie", "ümlaut"]
    needles += [hashlib.sha256(str(i).encode()).hexdigest() for i in range(250)]  # three patterns
    texts = [
        "Line from O'Brien (Jr.) about an order",
        "obrien jr",  # no
        "mail A+B@X.COM now",
        "aab@x.com",  # '+' is not 'one or more'
        "[X]{2} literal",
        "xx",  # not [x]{2} as a class
        "C:\\PATH\\N",
        "annexmarie",  # '.' is not any character
        "ÜMLAUT",
        f"hash {needles[-1]} inside",
        "",
    ]
    con = duckdb.connect()
    con.execute("create temp table _er_needles (needle varchar, pseud varchar)")
    con.executemany("insert into _er_needles values (?, null)", [[n] for n in needles])
    con.execute("create table t (txt varchar)")
    con.executemany("insert into t values (?)", [[x.lower()] for x in texts])
    where = erase._needle_filter(con, "txt")
    assert where is not None and where.count("regexp_matches") == 3
    got = {r[0] for r in con.execute(f"select txt from t where {where}").fetchall()}
    assert got == {x.lower() for x in texts if any(n in x.lower() for n in needles)}
    assert len(got) == 6
