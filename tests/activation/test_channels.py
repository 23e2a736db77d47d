"""Channel destinations (Google Ads Customer Match, Meta, Mailchimp, Klaviyo, HubSpot), from the user's side.

A marketer declares the destination in segments.yml, sets its credentials in the environment and
runs a sync: the vendor's local fake (vendor_servers.py, enforcing the documented contract and
misbehaving on purpose) must hold exactly the audience, every good record applied once, every
removal applied, the one record the vendor refuses in the dead letters, and the run's CSV in the
file history with the vendor's headers. No secret may appear in logs, files or tables. Everything
runs in-process on the hand-made warehouse (no dbt build): a few seconds in all.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import time
from pathlib import Path

import polars as pl
import pytest

from flows.activation.config import ConfigError, parse_config
from flows.activation.destinations.channel_apis import subscriber_hash
from flows.activation.destinations.channel_formats import channel_export
from flows.activation.flows import SyncSummary
from flows.warehouse import fetch_all, open_warehouse
from tests.activation import vendor_servers as vs
from tests.activation.mini_warehouse import person, sync, write_warehouse

TOKEN = "sk_live_CHANNEL_S3CRET_9f8e7d"
DEV_TOKEN = "devtok_S3CRET_4455"
MAILCHIMP_KEY = "0123456789abcdefS3CRET-us6"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def sleeps():
    calls: list[float] = []

    def fake_sleep(seconds: float) -> None:
        calls.append(seconds)
        time.sleep(min(seconds, 0.005))

    fake_sleep.calls = calls  # type: ignore[attr-defined]
    return fake_sleep


# --- normalisation, as each vendor documents it -------------------------------------------------


def audience() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "person_id": ["a", "b", "c", "d"],
            "email": ["  John.Doe+news@GoogleMail.com ", None, "bad-address", "ann@example.com"],
            "phone": ["(415) 555-2671", "+44 20 7946 0958", None, None],
            "phone_e164": [None, "+442079460958", None, None],
            "first_name": ["  Zoë  Anne ", "Seán", "X", None],
            "last_name": ["O'Brien-Smith", None, "Y", "Lee"],
        }
    )


def test_google_customer_match_normalises_and_hashes_as_documented():
    out = channel_export("google_ads_customer_match", audience(), default_country_code="1")
    assert out.columns == ["record_key", "Email", "Phone", "First Name", "Last Name", "Country", "Zip"]
    rows = {r["record_key"]: r for r in out.to_dicts()}
    # Google: trimmed, lower-cased, gmail/googlemail local-part dots removed (plus tag kept), SHA-256.
    assert rows["a"]["Email"] == sha("johndoe+news@googlemail.com")
    # E.164 with + before hashing; a national number gets the destination's default calling code.
    assert rows["a"]["Phone"] == sha("+14155552671")
    assert rows["b"]["Phone"] == sha("+442079460958") and rows["b"]["Email"] is None
    # Names lower-cased, extra spaces removed, punctuation kept; Country and Zip plain (empty here).
    assert rows["a"]["First Name"] == sha("zoë anne") and rows["a"]["Last Name"] == sha("o'brien-smith")
    assert rows["a"]["Country"] is None
    assert "c" not in rows, "no usable email or phone: the person cannot be matched"


def test_meta_normalises_phone_without_plus_and_names_letters_only():
    out = channel_export("meta_custom_audience", audience(), default_country_code="1")
    assert out.columns == ["record_key", "email", "phone", "fn", "ln"]
    rows = {r["record_key"]: r for r in out.to_dicts()}
    # Meta: trimmed and lower-cased, no gmail dot rule.
    assert rows["a"]["email"] == sha("john.doe+news@googlemail.com")
    # Digits with the country code, no + (the Google hash of the same phone differs).
    assert rows["a"]["phone"] == sha("14155552671")
    assert rows["a"]["fn"] == sha("zoëanne") and rows["a"]["ln"] == sha("obriensmith")
    assert rows["b"]["fn"] == sha("seán")


@pytest.mark.parametrize(
    ("dest_type", "header"),
    [
        ("mailchimp", ["record_key", "Email Address", "First Name", "Last Name"]),
        ("klaviyo", ["record_key", "Email", "First Name", "Last Name", "Phone Number"]),
        ("hubspot", ["record_key", "Email", "First Name", "Last Name", "Phone Number"]),
    ],
)
def test_email_channels_send_plain_canonical_address_and_split_names(dest_type, header):
    out = channel_export(dest_type, audience(), default_country_code="1")
    assert out.columns == header
    rows = {r["record_key"]: r for r in out.to_dicts()}
    assert set(rows) == {"a", "d"}, "email channels need a valid address"
    assert rows["a"][header[1]] == "john.doe+news@googlemail.com"
    assert (rows["a"]["First Name"], rows["a"]["Last Name"]) == ("Zoë Anne", "O'Brien-Smith")
    if "Phone Number" in header:
        assert rows["a"]["Phone Number"] == "+14155552671"
    assert subscriber_hash("John@Example.com") == hashlib.md5(b"john@example.com").hexdigest()


def test_channel_config_errors_are_one_clear_line():
    base = {
        "segments": [
            {"name": "s", "description": "d", "filter": "true", "fields": ["email"], "destinations": ["m"]}
        ]
    }
    with pytest.raises(ConfigError, match="destination 'm'.*needs audience_id"):
        parse_config({**base, "destinations": {"m": {"type": "mailchimp", "token_env": "X"}}})
    with pytest.raises(ConfigError, match="needs token_env or token_secret"):
        parse_config({**base, "destinations": {"m": {"type": "klaviyo", "audience_id": "L1"}}})
    with pytest.raises(ConfigError, match="developer_token_env"):
        parse_config(
            {
                **base,
                "destinations": {
                    "m": {
                        "type": "google_ads_customer_match",
                        "token_env": "X",
                        "audience_id": "1",
                        "customer_id": "1234567890",
                    }
                },
            }
        )
    # push: false needs no credentials: the CSV only.
    parse_config({**base, "destinations": {"m": {"type": "mailchimp", "push": False}}})


# --- each vendor's API against its local fake ----------------------------------------------------

VENDORS = {
    "google_ads_customer_match": dict(
        server=vs.GoogleAdsServer,
        ids={"developer_token": DEV_TOKEN, "customer_id": "1234567890", "user_list": "555"},
        yml="audience_id: '555'\n    customer_id: '1234567890'\n    developer_token_env: T_DEV\n",
        token=TOKEN,
        header="Email,Phone,First Name,Last Name,Country,Zip",
        ident=lambda email: sha(email),
    ),
    "meta_custom_audience": dict(
        server=vs.MetaServer,
        ids={"audience_id": "2385"},
        yml="audience_id: '2385'\n",
        token=TOKEN,
        header="email,phone,fn,ln",
        ident=lambda email: sha(email),
    ),
    "mailchimp": dict(
        server=vs.MailchimpServer,
        ids={"list_id": "a1b2c3"},
        yml="audience_id: a1b2c3\n",
        token=MAILCHIMP_KEY,
        header="Email Address,First Name,Last Name",
        ident=lambda email: email,
    ),
    "klaviyo": dict(
        server=vs.KlaviyoServer,
        ids={"list_id": "Y6nRLr"},
        yml="audience_id: Y6nRLr\n",
        token=TOKEN,
        header="Email,First Name,Last Name,Phone Number",
        ident=lambda email: email,
    ),
    "hubspot": dict(
        server=vs.HubSpotServer,
        ids={"property": "lifecycle_win_back"},
        yml="",
        token=TOKEN,
        header="Email,First Name,Last Name,Phone Number",
        ident=lambda email: email,
    ),
}


def channel_yml(dest_type: str, extra: str = "", batch_size: int = 4) -> str:
    return f"""
destinations:
  chan:
    type: {dest_type}
    token_env: T_TOKEN
    url_env: T_BASE
    batch_size: {batch_size}
    rate_limit_per_second: 500
    max_retries: 4
    backoff_base_seconds: 0.001
    timeout_seconds: 5
    {VENDORS[dest_type]["yml"]}{extra}
segments:
  - name: win_back
    description: at risk
    filter: "lifecycle_stage = 'at_risk'"
    fields: [person_id, email]
    destinations: [chan]
"""


def people(n: int = 9, left: set[int] = frozenset()) -> list[dict]:
    rows = [
        person(
            f"p{i:03d}",
            f"user{i}@example.com",
            first_name=f"First{i}",
            last_name=f"Last{i}",
            phone_e164=f"+1415555{i:04d}",
            lifecycle_stage="churned" if i in left else "at_risk",
        )
        for i in range(n)
    ]
    rows.append(person("p999", vs.REJECT_EMAIL, first_name="Re", last_name="Ject"))
    return rows


ADD_OPS = ("add", "create", "upsert")


def add_count(server: vs.VendorServer, ident: str) -> int:
    return sum(server.applied[(op, ident)] for op in ADD_OPS)


def run_dir_csv(settings, run_id_hint: str = "latest") -> list[str]:
    target = Path(settings.outbound_dir) / "chan" / "win_back"
    return (target / f"{run_id_hint}.csv").read_text().splitlines()


@pytest.mark.parametrize("dest_type", list(VENDORS))
def test_vendor_api_gets_every_record_once_and_every_removal(
    dest_type, make_settings, monkeypatch, sleeps, caplog
):
    caplog.set_level(logging.DEBUG)
    v = VENDORS[dest_type]
    settings = make_settings(channel_yml(dest_type))
    script = [("429", 1), ("500",)]
    with v["server"](v["token"], script, **v["ids"]) as server:
        monkeypatch.setenv("T_TOKEN", v["token"])
        monkeypatch.setenv("T_DEV", DEV_TOKEN)
        monkeypatch.setenv("T_BASE", server.url)

        # Run 1: a 429 with Retry-After, a 500, and the one record the vendor refuses.
        write_warehouse(settings, people())
        first = sync(settings, http_sleep=sleeps)[("win_back", "chan")]
        good = {v["ident"](f"user{i}@example.com") for i in range(9)}
        assert server.members == good
        adds = {k for (op, k) in server.applied if op in ADD_OPS}
        assert adds == good and all(add_count(server, k) == 1 for k in good), "a record was applied twice"
        assert (first["status"], first["failures"], first["adds"]) == ("partial", 1, 10)
        assert any(s >= 1.0 for s in sleeps.calls), "Retry-After: 1 was not honoured"
        with open_warehouse(settings, read_only=True) as con:
            dead = fetch_all(con, "select record_key, op, error from sync.dead_letters")
            synced = fetch_all(con, "select count(*) from sync.record_state")
        assert [(d[0], d[1]) for d in dead] == [("p999", "upsert")]
        assert synced[0][0] == 9
        # The run's CSV, upload-ready, in the file history: the vendor's headers, all 10 rows.
        lines = run_dir_csv(settings)
        assert lines[0] == v["header"] and len(lines) == 11
        manifest = json.loads(
            (Path(settings.outbound_dir) / "chan" / "win_back" / "manifest.json").read_text()
        )
        assert manifest["push"]["status"] == "partial"

        # Run 2: two persons leave the segment; their removal is the vendor's removal call.
        write_warehouse(settings, people(left={1, 2}))
        second = sync(settings, http_sleep=sleeps)[("win_back", "chan")]
        assert second["removes"] == 2
        gone = {v["ident"](f"user{i}@example.com") for i in (1, 2)}
        if dest_type == "mailchimp":  # the member stays in the audience, the segment tag goes
            hashes = {subscriber_hash(f"user{i}@example.com") for i in (1, 2)}
            assert all("win_back" not in server.tags[h] for h in hashes)
            assert all("win_back" in server.tags[subscriber_hash(f"user{i}@example.com")] for i in (0, 3))
        else:
            assert server.members == good - gone
        assert all(add_count(server, k) == 1 for k in good), "unchanged records were re-sent"
        assert second["status"] == "partial" and second["failures"] == 1  # the refused one, retried

    # No secret anywhere: logs, files, tables.
    secrets = [v["token"], DEV_TOKEN]
    text = caplog.text
    for path in Path(settings.data_dir).rglob("*"):
        if path.is_file() and path.suffix in (".csv", ".json", ".log"):
            text += path.read_text(errors="replace")
    with open_warehouse(settings, read_only=True) as con:
        text += json.dumps(fetch_all(con, "select * from sync.dead_letters"), default=str)
        text += json.dumps(fetch_all(con, "select * from sync.results"), default=str)
    for secret in secrets:
        assert secret not in text


def test_hubspot_batches_stay_within_its_limit(make_settings, monkeypatch, sleeps):
    """250 contacts with batch_size 500: HubSpot's documented maximum of 100 inputs per call wins."""
    settings = make_settings(channel_yml("hubspot", batch_size=500))
    v = VENDORS["hubspot"]
    with v["server"](v["token"], [], **v["ids"]) as server:
        monkeypatch.setenv("T_TOKEN", v["token"])
        monkeypatch.setenv("T_BASE", server.url)
        write_warehouse(settings, people(n=250)[:-1])
        row = sync(settings, http_sleep=sleeps)[("win_back", "chan")]
    assert row["status"] == "ok" and len(server.members) == 250
    assert server.batch_sizes == [100, 100, 50]


def test_meta_replace_session_replaces_the_whole_audience(make_settings, monkeypatch, sleeps):
    settings = make_settings(
        channel_yml("meta_custom_audience", extra="    replace_audience: true\n", batch_size=3)
    )
    v = VENDORS["meta_custom_audience"]
    with v["server"](v["token"], [], **v["ids"]) as server:
        monkeypatch.setenv("T_TOKEN", v["token"])
        monkeypatch.setenv("T_BASE", server.url)
        server.members = {sha("stranger@example.com")}  # held by Meta, not in the segment
        write_warehouse(settings, people(n=7)[:-1])
        row = sync(settings, http_sleep=sleeps)[("win_back", "chan")]
        assert row["status"] == "ok"
        assert server.members == {sha(f"user{i}@example.com") for i in range(7)}
        flags = [s["last_batch_flag"] for s in server.sessions]
        assert flags == [False, False, True] and len({s["session_id"] for s in server.sessions}) == 1
        assert [s["batch_seq"] for s in server.sessions] == [1, 2, 3]


def test_unset_credentials_skip_an_optional_channel_with_a_reason(make_settings, monkeypatch):
    settings = make_settings(channel_yml("klaviyo", extra="    optional: true\n"))
    monkeypatch.delenv("T_TOKEN", raising=False)
    write_warehouse(settings, people(n=3))
    for dry_run in (True, False):
        row = sync(settings, dry_run=dry_run)[("win_back", "chan")]
        assert row["status"] == "skipped"
        assert row["error"] == "skipped: no credentials (environment variable T_TOKEN is not set)"
        printed = str(SyncSummary(run_id="r", dry_run=dry_run, as_of=None, results=[row])).splitlines()
        assert "win_back/chan skipped: no credentials (environment variable T_TOKEN is not set)" in printed
        assert printed[-1] == "result: ok"
    assert not (Path(settings.outbound_dir) / "chan").exists()


def test_push_false_writes_the_upload_ready_csv_only(make_settings):
    yml = """
destinations:
  google_files:
    type: google_ads_customer_match
    push: false
segments:
  - name: win_back
    description: at risk
    filter: "lifecycle_stage = 'at_risk'"
    fields: [person_id, email]
    destinations: [google_files]
"""
    settings = make_settings(yml)
    write_warehouse(settings, people(n=2)[:-1])
    row = sync(settings)[("win_back", "google_files")]
    assert row["status"] == "ok" and row["adds"] == 2
    path = Path(settings.outbound_dir) / "google_files" / "win_back" / "latest.csv"
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["Email", "Phone", "First Name", "Last Name", "Country", "Zip"]
    assert {r["Email"] for r in rows} == {sha("user0@example.com"), sha("user1@example.com")}
    assert rows[0]["Phone"] == sha("+14155550000")


def test_default_segments_file_shows_each_channel_optional_and_skipped_with_its_reason(monkeypatch):
    from flows.activation.config import load_config
    from flows.activation.flows import skip_reason

    config = load_config(Path(__file__).resolve().parents[2] / "segments.yml")
    by_type = {d.type: d for d in config.destinations.values()}
    assert set(VENDORS) <= set(by_type), "one example of each channel destination"
    every_segment_to_file = all("file" in s.destinations for s in config.segments)
    assert every_segment_to_file
    for dest_type in VENDORS:
        dest = by_type[dest_type]
        assert dest.optional and dest.push
        monkeypatch.delenv(dest.token_env, raising=False)
        assert skip_reason(dest) == (
            f"skipped: no credentials (environment variable {dest.token_env} is not set)"
        )


@pytest.mark.slow
def test_channel_files_and_a_push_on_a_real_build(built_warehouse, tmp_path, monkeypatch, sleeps):
    """The dbt-built names and phones reach each channel's CSV; one channel also pushes (Klaviyo).

    Reuses the session's built warehouse (copied); the sync itself takes a few seconds.
    """
    import shutil
    import textwrap

    from flows.email_rule import match_key
    from flows.settings import Settings

    yml = textwrap.dedent(
        """
        destinations:
          google_files: {type: google_ads_customer_match, push: false}
          meta_files: {type: meta_custom_audience, push: false}
          mailchimp_files: {type: mailchimp, push: false}
          hubspot_files: {type: hubspot, push: false}
          klaviyo:
            type: klaviyo
            token_env: T_TOKEN
            url_env: T_BASE
            audience_id: Y6nRLr
            rate_limit_per_second: 500
        segments:
          - name: nurture_leads
            description: leads
            filter: "lifecycle_stage = 'acquisition' and lead_status in ('open', 'contacted')"
            fields: [person_id, email, name]
            destinations: [google_files, meta_files, mailchimp_files, hubspot_files, klaviyo]
        """
    )
    (tmp_path / "segments.yml").write_text(yml)
    settings = Settings(data_dir=tmp_path / "data", segments_file=tmp_path / "segments.yml")
    settings.root.mkdir(parents=True)
    shutil.copy(built_warehouse.warehouse_path, settings.warehouse_path)
    with open_warehouse(settings, read_only=True) as con:
        persons = {
            r[0]: r[1:]
            for r in fetch_all(
                con, "select email, first_name, last_name, phone_e164, name from marts.dim_persons"
            )
        }
    with vs.KlaviyoServer(TOKEN, [], list_id="Y6nRLr") as server:
        monkeypatch.setenv("T_TOKEN", TOKEN)
        monkeypatch.setenv("T_BASE", server.url)
        rows = sync(settings, http_sleep=sleeps)
    assert {r["status"] for r in rows.values()} == {"ok"}
    assert rows[("nurture_leads", "klaviyo")]["rows"] > 0
    assert len(server.members) == rows[("nurture_leads", "klaviyo")]["rows"]

    def read(dest: str) -> list[dict[str, str]]:
        with open(settings.outbound_dir / dest / "nurture_leads" / "latest.csv", newline="") as fh:
            return list(csv.DictReader(fh))

    mailchimp = read("mailchimp_files")
    assert mailchimp and all(r["Email Address"] in persons for r in mailchimp)
    named = [r for r in mailchimp if persons[r["Email Address"]][3]]
    assert named, "the demo persons have names"
    for r in named:
        first, last, _, name = persons[r["Email Address"]]
        assert (r["First Name"], r["Last Name"]) == (first or "", last or "")
        assert name.startswith(first)
    hubspot = read("hubspot_files")
    phones = [r["Phone Number"] for r in hubspot if r["Phone Number"]]
    assert phones and all(p.startswith("+") and p[1:].isdigit() for p in phones)
    google = {r["Email"] for r in read("google_files")}
    assert google == {sha(match_key(e)) for e in (r["Email Address"] for r in mailchimp)}
    meta_phones = {r["phone"] for r in read("meta_files") if r["phone"]}
    assert meta_phones == {sha(p.lstrip("+")) for p in phones}


def test_a_mailchimp_key_without_its_data_centre_fails_that_destination_in_one_line(
    make_settings, monkeypatch
):
    yml = channel_yml("mailchimp").replace("    url_env: T_BASE\n", "")
    settings = make_settings(yml)
    monkeypatch.setenv("T_TOKEN", "keyWithoutSuffix")
    write_warehouse(settings, people(n=2))
    row = sync(settings)[("win_back", "chan")]
    assert row["status"] == "failed" and row["failures"] == 3
    assert row["error"].startswith("the Mailchimp API key has no data-centre suffix (like -us6)")
    assert "keyWithoutSuffix" not in row["error"]


@pytest.mark.slow
def test_channel_credentials_from_prefect_secret_blocks_in_the_real_flow(
    prefect_harness, make_settings, monkeypatch, caplog
):
    """sync_flow as a Prefect flow run; the Google tokens come from Secret blocks, never logged."""
    from prefect.blocks.system import Secret

    from flows.activation.flows import sync_flow

    yml = (
        channel_yml("google_ads_customer_match")
        .replace("token_env: T_TOKEN", "token_secret: test-google-token")
        .replace("developer_token_env: T_DEV", "developer_token_secret: test-google-dev")
    )
    settings = make_settings(yml, name="gsecret")
    write_warehouse(settings, people(n=3)[:-1])
    v = VENDORS["google_ads_customer_match"]
    with v["server"](TOKEN, [("500",)], **v["ids"]) as server:
        monkeypatch.setenv("T_BASE", server.url)
        Secret(value=TOKEN).save("test-google-token", overwrite=True)
        Secret(value=DEV_TOKEN).save("test-google-dev", overwrite=True)
        summary = sync_flow(settings)
    assert summary.ok, str(summary)
    assert server.members == {sha(f"user{i}@example.com") for i in range(3)}
    assert len(server.ran) == 1
    for secret in (TOKEN, DEV_TOKEN):
        assert secret not in caplog.text and secret not in str(summary)


# --- erasure at the vendors (SPEC 10) -----------------------------------------------------------

ERASED = "user1@example.com"


def _erased_needles() -> list[str]:
    """What a privacy officer searches for: the address, the hashes the vendors received."""
    return [ERASED, sha(ERASED), subscriber_hash(ERASED), "First1", "+14155550001"]


@pytest.mark.parametrize("dest_type", list(VENDORS))
def test_an_erased_person_is_deleted_at_the_vendor_at_once_and_nothing_of_them_stays(
    dest_type, make_settings, monkeypatch, sleeps
):
    """The privacy officer erases a person who was pushed to a channel: the vendor's own privacy
    deletion is called right away (Mailchimp delete-permanent, Klaviyo deletion job, HubSpot
    gdpr-delete; the list removal for Google and Meta), and afterwards no table or file under
    DIR holds the address or a hash of it. The next sync sends nothing more for them."""
    from flows.privacy import erase
    from tests.privacy.scan import scan_data_dir

    v = VENDORS[dest_type]
    settings = make_settings(channel_yml(dest_type))
    with v["server"](v["token"], [], **v["ids"]) as server:
        monkeypatch.setenv("T_TOKEN", v["token"])
        monkeypatch.setenv("T_DEV", DEV_TOKEN)
        monkeypatch.setenv("T_BASE", server.url)
        write_warehouse(settings, people(), identities=[("p001", ERASED)])
        sync(settings, http_sleep=sleeps)
        assert v["ident"](ERASED) in server.members

        result = erase.erase(settings, emails=[ERASED], source="cli", prefect=False)

        assert v["ident"](ERASED) not in server.members
        if dest_type in ("mailchimp", "klaviyo", "hubspot"):
            assert server.applied[("erase", ERASED)] == 1, "the vendor's privacy deletion was not called"
        assert (result.vendor_deleted, result.vendor_pending) == (1, 0)
        assert "1 deleted at vendors" in result.summary_line()
        assert scan_data_dir(Path(settings.data_dir), _erased_needles()) == []

        again = sync(settings, http_sleep=sleeps)[("win_back", "chan")]
        assert (again["adds"], again["removes"]) == (1, 0)  # only the record the vendor refuses, again
        assert v["ident"](ERASED) not in server.members and add_count(server, v["ident"](ERASED)) == 1
        assert v["ident"]("user0@example.com") in server.members


def test_a_vendor_deletion_that_fails_is_kept_and_sent_at_the_next_sync(make_settings, monkeypatch, sleeps):
    """Klaviyo is down when the person is erased: everything local is erased anyway, the one line
    says the vendor deletion is pending, and the next sync sends it; then nothing is left."""
    from flows.privacy import erase
    from tests.privacy.scan import scan_data_dir

    v = VENDORS["klaviyo"]
    settings = make_settings(channel_yml("klaviyo"))
    with v["server"](v["token"], [], **v["ids"]) as server:
        monkeypatch.setenv("T_TOKEN", v["token"])
        monkeypatch.setenv("T_BASE", server.url)
        write_warehouse(settings, people(), identities=[("p001", ERASED)])
        sync(settings, http_sleep=sleeps)
        server.script = [("500",)] * 5  # every attempt of the deletion job (max_retries: 4)

        result = erase.erase(settings, emails=[ERASED], source="cli", prefect=False)

        assert (result.vendor_deleted, result.vendor_pending) == (0, 1)
        line = result.summary_line()
        assert "1 vendor deletion(s) pending (privacy.vendor_erasures)" in line
        assert "destination 'chan'" in line and ERASED not in line
        assert ERASED in server.members
        with open_warehouse(settings, read_only=True) as con:
            queued = fetch_all(con, "select attempts, last_error from privacy.vendor_erasures")
        assert len(queued) == 1 and queued[0][0] == 1 and "HTTP 500" in queued[0][1]

        sync(settings, http_sleep=sleeps)

        assert ERASED not in server.members and server.applied[("erase", ERASED)] == 1
        with open_warehouse(settings, read_only=True) as con:
            assert fetch_all(con, "select count(*) from privacy.vendor_erasures") == [(0,)]
        assert scan_data_dir(Path(settings.data_dir), _erased_needles()) == []


def test_klaviyo_import_job_is_awaited_and_its_late_rejections_are_dead_letters(
    make_settings, monkeypatch, sleeps
):
    """Klaviyo's 202 only queues the import. The sync waits for the job (queued, processing,
    complete), reads its import errors page by page, and dead-letters exactly the profiles the job
    refused; a job still processing when the sync gives up fails its records, and the next sync
    sends them again, each applied once."""
    v = VENDORS["klaviyo"]
    settings = make_settings(channel_yml("klaviyo"))
    rows = people()
    rows += [person(f"p8{i}", f"{vs.LATE_REJECT}{i}@example.com") for i in range(2)]
    with v["server"](v["token"], [], **v["ids"]) as server:
        monkeypatch.setenv("T_TOKEN", v["token"])
        monkeypatch.setenv("T_BASE", server.url)
        write_warehouse(settings, rows)
        first = sync(settings, http_sleep=sleeps)[("win_back", "chan")]
        with open_warehouse(settings, read_only=True) as con:
            dead = fetch_all(con, "select record_key, error from sync.dead_letters order by record_key")
        assert [d[0] for d in dead] == ["p80", "p81", "p999"]
        assert dead[0][1] == "Klaviyo invalid: The email address is not deliverable."
        assert first["failures"] == 3
        polls = [
            r for r in server.requests if r["method"] == "GET" and r["path"].startswith("/api/profile-bulk")
        ]
        assert polls, "the import job was never awaited"

        # A job that never finishes: its records fail, then go again once Klaviyo catches up.
        monkeypatch.setattr("flows.activation.destinations.channel_apis.KLAVIYO_JOB_WAIT_SECONDS", 2.0)
        server.stuck_jobs = True
        write_warehouse(settings, [*rows, person("p900", "newcomer@example.com")])
        stuck = sync(settings, http_sleep=sleeps)[("win_back", "chan")]
        with open_warehouse(settings, read_only=True) as con:
            errors = fetch_all(con, "select error from sync.dead_letters where record_key = 'p900'")
        assert any("still processing" in e[0] for e in errors), errors
        assert stuck["status"] in ("partial", "failed")
        server.stuck_jobs = False
        sync(settings, http_sleep=sleeps)
        with open_warehouse(settings, read_only=True) as con:
            state = fetch_all(con, "select count(*) from sync.record_state where record_key = 'p900'")
        assert state == [(1,)]
        assert server.applied[("upsert", "newcomer@example.com")] == 2  # sent by both syncs, upserted
