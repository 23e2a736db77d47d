"""Consent edge cases, by hand (issue 15 items 1, 2 and 6a), from the user's side.

A hand-written SendGrid webhook file, a few Segment identify messages and an erasure CSV, written
the way a user drops files into DIR/raw/, go through the real CLI (`lifecycle ingest`, `build`,
`sync`) on a handful of persons. Three audiences (`filter: "true"`) send under no group, under
SendGrid unsubscribe group 42 and under group 7. Who ends up in which audience file, and what
dim_persons says about each person's consent, is compared with answers worked out by hand:

| person | what happened | all_email | group_42 | group_7 | consent state |
|---|---|---|---|---|---|
| spam | spam report, timestamp "yesterday" (quarantined) | out | out | out | suppressed |
| resub | unsubscribe, then a later (global) resubscribe | in | in | in | subscribed |
| gresub | group 42 unsubscribe, then a later group 42 resubscribe | in | in | in | subscribed |
| early | group 42 resubscribe BEFORE a group 42 unsubscribe | out | out | in | group_unsubscribed |
| under | group 7 unsubscribe, then a later global resubscribe | out | in | out | group_unsubscribed |
| merged | one userId, two emails; erasure request for the first | out | out | out | erased |
| dots | identify `J.Doe@Gmail.com`; spam report from `jdoe@gmail.com` | out | out | out | suppressed |
| badtime | erasure CSV row with requested_at "not-a-date" (quarantined) | out | out | out | erased |
| noid | unsubscribe without sg_event_id (quarantined) | out | out | out | unsubscribed |
| future | unsubscribe stamped 30 days after it was loaded | out | out | out | unsubscribed |
| badresub | unsubscribe, then a resubscribe with an unusable time | out | out | out | unsubscribed |
| extra | unsubscribe with unknown fields | out | out | out | unsubscribed |
| control | opened, no opt-out | in | in | in | subscribed |

"erased": the erasure is applied when the files are ingested (flows/privacy), so dim_persons has no
row left that carries the person's userId; its addresses are in no audience file.

One build of 13 persons through the CLI is the point of the test (about 2-3 minutes on 2 cores:
the whole dbt project runs, as `lifecycle build` does for a user).
"""

from __future__ import annotations

import csv
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

NOW = int(time.time())
DAY = 86400
# Every dated event falls in last calendar month (in the past, so no time is "future"), so the
# monthly email KPIs see the deliveries of the month its opt-outs happened in.
_MONTH = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
_LAST_MONTH = int((_MONTH - timedelta(days=1)).replace(day=1).timestamp())
T0 = _LAST_MONTH + 1 * DAY  # identify messages, deliveries
T1 = _LAST_MONTH + 4 * DAY  # first consent event
T2 = _LAST_MONTH + 9 * DAY  # second consent event
T3 = _LAST_MONTH + 14 * DAY

PERSONS = {
    "spam": "spam@x.com",
    "resub": "resub@x.com",
    "gresub": "gresub@x.com",
    "early": "early@x.com",
    "under": "under@x.com",
    "merged": "merged.one@x.com",
    "dots": "J.Doe@Gmail.com",
    "badtime": "badtime@x.com",
    "noid": "noid@x.com",
    "future": "future@x.com",
    "badresub": "badresub@x.com",
    "extra": "extra@x.com",
    "control": "control@x.com",
}
MERGED_SECOND = "merged.two@x.com"

EXPECTED_AUDIENCES = {
    "all_email": {"resub", "gresub", "control"},
    "group_42": {"resub", "gresub", "under", "control"},
    "group_7": {"resub", "gresub", "early", "control"},
}
EXPECTED_STATE = {
    "spam": ("suppressed", "spam_report", None),
    "resub": ("subscribed", None, None),
    "gresub": ("subscribed", None, None),
    "early": ("group_unsubscribed", None, "42"),
    "under": ("group_unsubscribed", None, "7"),
    "dots": ("suppressed", "spam_report", None),
    "noid": ("unsubscribed", "unsubscribed", None),
    "future": ("unsubscribed", "unsubscribed", None),
    "badresub": ("unsubscribed", "unsubscribed", None),
    "extra": ("unsubscribed", "unsubscribed", None),
    "control": ("subscribed", None, None),
}
ERASED = {"merged", "badtime"}

SEGMENTS_YML = """
destinations:
  file:
    type: file
segments:
  - name: all_email
    description: Everyone, sent under no declared group.
    filter: "true"
    fields: [person_id, email]
    destinations: [file]
  - name: group_42
    description: Everyone, sent under SendGrid unsubscribe group 42.
    filter: "true"
    fields: [person_id, email]
    destinations: [file]
    asm_group_id: 42
  - name: group_7
    description: Everyone, sent under SendGrid unsubscribe group 7.
    filter: "true"
    fields: [person_id, email]
    destinations: [file]
    asm_group_id: 7
"""


def _sg(n: int, event: str, email: str, ts: object, **extra: object) -> dict:
    record = {"email": email, "timestamp": ts, "event": event, "sg_event_id": f"sg-{n}"}
    record.update(extra)
    return record


def _write_raw(raw: Path) -> None:
    (raw / "web").mkdir(parents=True)
    (raw / "email").mkdir(parents=True)
    (raw / "erasure").mkdir(parents=True)
    web = []
    for i, (name, email) in enumerate(PERSONS.items()):
        web.append(
            {
                "messageId": f"m-{name}",
                "type": "identify",
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 + i * 60)),
                "userId": f"u-{name}",
                "anonymousId": f"a-{name}",
                "traits": {"email": email, "name": f"Person {name.title()}"},
            }
        )
    web.append(  # the merged person's second address, same userId
        {
            "messageId": "m-merged-2",
            "type": "identify",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 + 3600)),
            "userId": "u-merged",
            "anonymousId": "a-merged-2",
            "traits": {"email": MERGED_SECOND},
        }
    )
    (raw / "web" / "identify.jsonl").write_text("".join(json.dumps(m) + "\n" for m in web))

    sendgrid = [
        _sg(1, "spamreport", "spam@x.com", "yesterday"),
        _sg(2, "unsubscribe", "resub@x.com", T1),
        _sg(3, "group_resubscribe", "resub@x.com", T2),
        _sg(4, "group_unsubscribe", "gresub@x.com", T1, asm_group_id=42),
        _sg(5, "group_resubscribe", "gresub@x.com", T2, asm_group_id=42),
        _sg(6, "group_resubscribe", "early@x.com", T1, asm_group_id=42),
        _sg(7, "group_unsubscribe", "early@x.com", T2, asm_group_id=42),
        _sg(8, "group_unsubscribe", "under@x.com", T1, asm_group_id=7),
        _sg(9, "group_resubscribe", "under@x.com", T2),
        _sg(10, "spamreport", " jdoe@GMAIL.com", T1),
        {"email": "noid@x.com", "timestamp": T1, "event": "unsubscribe"},
        _sg(12, "unsubscribe", "future@x.com", NOW + 30 * DAY),
        _sg(13, "unsubscribe", "badresub@x.com", T1),
        _sg(14, "group_resubscribe", "badresub@x.com", "2026-13-45T25:61:00Z"),
        _sg(15, "unsubscribe", "extra@x.com", T1, surprise={"nested": [1, 2]}, another_field="kept"),
        _sg(17, "open", "control@x.com", T2, sg_message_id="msg-control"),
    ]
    # Every address was mailed before it opted out (as in real life: the KPI rates need it).
    sendgrid += [
        _sg(100 + i, "delivered", email, T0, sg_message_id=f"msg-{name}")
        for i, (name, email) in enumerate(PERSONS.items())
    ]
    # A JSON array, as SendGrid posts it (https://www.twilio.com/docs/sendgrid/for-developers/
    # tracking-events/event#event-objects).
    (raw / "email" / "webhook-post.json").write_text(json.dumps(sendgrid))

    with (raw / "erasure" / "requests.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["email", "requested_at"])
        writer.writerow(["Merged.One@x.com", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T3))])
        writer.writerow(["badtime@x.com", "not-a-date"])


def _audience(outbound: Path, segment: str) -> set[str]:
    with (outbound / "file" / segment / "latest.csv").open() as fh:
        return {row["email"] for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def consent_dir(tmp_path_factory, prefect_harness, monkeypatch_module):
    from flows.cli import main

    root = tmp_path_factory.mktemp("consent") / "data"
    _write_raw(root / "raw")
    segments = root.parent / "segments.yml"
    segments.write_text(SEGMENTS_YML)
    monkeypatch_module.setenv("LIFECYCLE_SEGMENTS_FILE", str(segments))
    for argv in (["ingest"], ["build"], ["sync"]):
        assert main(["--data-dir", str(root), *argv]) == 0, argv
    return root


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_quarantined_opt_outs_were_quarantined(consent_dir):
    con = duckdb.connect(str(consent_dir / "warehouse.duckdb"), read_only=True)
    try:
        reasons = {r[0] for r in con.execute("select reason from raw.rejects").fetchall()}
    finally:
        con.close()
    # still quarantined for the KPIs...
    assert "unparseable timestamp: yesterday" in reasons
    assert "missing sg_event_id" in reasons
    assert any(r.startswith("unparseable requested_at") for r in reasons)


def test_audience_files_hold_exactly_the_hand_computed_persons(consent_dir):
    outbound = consent_dir / "outbound"
    for segment, names in EXPECTED_AUDIENCES.items():
        got = _audience(outbound, segment)
        expected = {PERSONS[n].lower() for n in names}
        assert got == expected, segment
    everything = "".join(p.read_text() for p in outbound.rglob("*.csv")).lower()
    assert MERGED_SECOND not in everything  # the erased person's second address too


def test_dim_persons_shows_consent_by_group(consent_dir):
    con = duckdb.connect(str(consent_dir / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "select user_id, email_consent_state, suppression_reason, unsubscribed_group_ids, "
            "is_email_suppressed from marts.dim_persons where user_id like 'u-%'"
        ).fetchall()
    finally:
        con.close()
    got = {r[0].removeprefix("u-"): r[1:] for r in rows}
    expected = {
        name: (state, reason, groups, state in ("suppressed", "unsubscribed"))
        for name, (state, reason, groups) in EXPECTED_STATE.items()
    }
    assert not ERASED & got.keys()
    assert got == expected


def test_person_show_tells_a_privacy_officer_the_groups(consent_dir, capsys):
    from flows.cli import main

    assert main(["--data-dir", str(consent_dir), "person", "show", "EARLY@x.com"]) == 0
    out = capsys.readouterr().out
    assert "group 42 (early@x.com): unsubscribed" in out
    assert "in      group_7" in out
    assert "not in  group_42: suppressed: early@x.com: unsubscribed from group 42 (its group)" in out
    assert "not in  all_email: suppressed" in out

    assert main(["--data-dir", str(consent_dir), "person", "show", "jdoe@gmail.com", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["email_consent_state"] == "suppressed"
    assert info["consent"]["summary"]["suppression_reason"] == "spam_report"
    assert all(not s["in_segment"] and s["reason"] == "suppressed" for s in info["segments"])


def test_person_erase_applies_at_once_and_says_when_no_person_had_the_address(consent_dir, capsys):
    """Last in this module: it changes the data dir. `person erase` applies at once (privacy's erase_now)."""
    from flows.cli import main

    assert main(["--data-dir", str(consent_dir), "person", "erase", " Extra@X.com"]) == 0
    assert "erasure(s) applied" in capsys.readouterr().out
    assert main(["--data-dir", str(consent_dir), "person", "show", PERSONS["extra"]]) == 1
    assert "no person with email" in capsys.readouterr().err
    # the merged person was erased at ingest, through either of its addresses
    for email in (MERGED_SECOND, PERSONS["merged"]):
        assert main(["--data-dir", str(consent_dir), "person", "show", email]) == 1
        assert "no person with email" in capsys.readouterr().err
    assert main(["--data-dir", str(consent_dir), "person", "erase", MERGED_SECOND]) == 1
    assert "no person had that address; the request is recorded" in capsys.readouterr().err
    assert main(["--data-dir", str(consent_dir), "person", "show", PERSONS["control"]]) == 0
    assert "Consent: subscribed" in capsys.readouterr().out
