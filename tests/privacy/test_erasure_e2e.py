"""End to end (issue 15 item 6b): erase persons who sit in audiences, then find nothing of them.

As a user would, with the CLI as subprocesses on small generated data:
1. `lifecycle generate` and `lifecycle run`: audiences, published marts, report, quality results,
   Prefect history under DIR/.prefect.
2. Pick two persons listed in audience files whose full name is theirs alone (a shared name is not
   theirs to erase). Person A gets a second address (a late Segment identify linking it to A's
   userId), then is erased by a request file written as a user writes it (upper case, spaces);
   person B by `lifecycle person erase`.
3. `lifecycle run`, then search every table of both DuckDB files, every Parquet file, the Prefect
   database and every other file under DIR except raw/ for their addresses (any case), names,
   phones and the sha256 of each address (what the ads destination writes): nothing.
4. `lifecycle run --full-refresh` and search again: nothing comes back.
5. Re-ingest a copy of an old raw file holding A (and a late event with new ids): redacted at
   ingest, the search still finds nothing.

Over 20 s on purpose: three real runs (ingest, gates, dbt build, publish, sync, report) are the
point of the test; it is marked slow.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import os
import subprocess
from pathlib import Path

import duckdb
import pytest

from tests.e2e import cli
from tests.privacy.scan import person_needles, scan_data_dir

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]
SECOND = "A.Second.Address@Example.NET"


# Three full runs on a loaded machine: a longer bound per command than the other e2e modules.
lifecycle = functools.partial(cli.lifecycle, timeout=1500)


def _ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    """Each subprocess runs its own temporary Prefect server with history in DIR/.prefect."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.pop("PREFECT_HOME", None)
    env.pop("LIFECYCLE_ERASURE_KEY", None)  # the key file is created under DIR on first use
    return {**env, "CI": "true", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "600"}


def _audience_emails(data: Path) -> set[str]:
    emails: set[str] = set()
    for path in (data / "outbound" / "file").glob("*/latest.csv"):
        with path.open() as fh:
            emails |= {row["email"].lower() for row in csv.DictReader(fh) if row.get("email")}
    return emails


def _pick(data: Path, n: int) -> list[tuple[str, str | None]]:
    """(email, user_id) of persons in audience files, with a name no other person has."""
    listed = _audience_emails(data)
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute(
            """
            with names as (
                select lower(name) as n from marts.dim_persons where name is not null group by 1
                having count(*) = 1
            ),
            zd as (select lower(name) as n from raw.zendesk_users where name is not null group by 1
                   having count(distinct lower(email)) > 1)
            select lower(p.email), p.user_id from marts.dim_persons as p
            where lower(p.name) in (select n from names) and lower(p.name) not in (select n from zd)
            order by p.phone is null, p.person_id
            """
        ).fetchall()
    finally:
        con.close()
    picked = [(e, u) for e, u in rows if e in listed]
    assert len(picked) >= n, "too few persons in audiences with a name of their own"
    return picked[:n]


@pytest.fixture(scope="module")
def erased(env, tmp_path_factory):
    data = tmp_path_factory.mktemp("erasure") / "data"
    _ok(
        lifecycle(
            env, "generate", "--data-dir", str(data), "--customers", "120", "--days", "60", "--seed", "5"
        )
    )
    _ok(lifecycle(env, "run", "--data-dir", str(data)))
    (a, a_user), (b, _) = _pick(data, 2)
    needles = person_needles(data / "warehouse.duckdb", [a, b])
    second = SECOND.lower()
    needles[a] += [second, hashlib.sha256(second.encode()).hexdigest()]
    all_needles = sorted({v for vs in needles.values() for v in vs})
    assert scan_data_dir(data, all_needles), "the persons should be found before the erasure"

    # A's second address arrives in a late identify (a merge: same userId, new anonymousId).
    late = data / "raw" / "web" / "late" / "merge.jsonl"
    late.parent.mkdir(parents=True)
    late.write_text(
        json.dumps(
            {
                "anonymousId": "late-device-of-a",
                "userId": a_user,
                "messageId": "late-merge-1",
                "type": "identify",
                "timestamp": "2026-01-01T10:00:00Z",
                "traits": {"email": SECOND, "name": "Second Name Of A"},
            }
        )
        + "\n"
    )
    req = data / "raw" / "erasure" / "from_privacy_officer.csv"
    req.write_text(f"email,requested_at\n  {a.upper()} ,2026-12-01T09:00:00Z\n")
    person = lifecycle(env, "person", "erase", b, "--data-dir", str(data))
    _ok(person)
    assert "erasure(s) applied" in person.stdout and b not in person.stdout.lower()
    run = lifecycle(env, "run", "--data-dir", str(data))
    _ok(run)
    return data, a, b, all_needles + ["second name of a"], run


def test_erased_persons_are_nowhere_after_the_run(erased) -> None:
    data, a, b, needles, run = erased
    assert "erasure" in run.stdout
    assert scan_data_dir(data, needles) == []
    assert a not in _audience_emails(data) and b not in _audience_emails(data)
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        log = con.execute("select count(*), sum(rows) from privacy.erasure_log").fetchall()[0]
        sources = {r[0] for r in con.execute("select source from privacy.erasures").fetchall()}
        orders = con.execute("select count(*) from marts.fct_orders").fetchall()[0][0]
    finally:
        con.close()
    assert log[0] > 0 and log[1] > 0
    assert sources == {"file", "cli"}
    assert orders > 0  # anonymous facts stay


def test_full_refresh_brings_nothing_back(erased, env) -> None:
    data, _, _, needles, _ = erased
    _ok(lifecycle(env, "run", "--full-refresh", "--data-dir", str(data)))
    assert scan_data_dir(data, needles) == []


def test_reingested_old_file_is_redacted_at_ingest(erased, env) -> None:
    data, a, _, needles, _ = erased
    holding = [p for p in sorted((data / "raw" / "email").rglob("*.json")) if a in p.read_text().lower()]
    assert holding, "no raw email file mentions the erased person"
    text = holding[0].read_text()
    (data / "raw" / "email" / "copy-of-old.json").write_text(text)  # same events: de-duplicated
    events = json.loads(text)
    for i, event in enumerate(events):
        event["sg_event_id"] = f"late-{i}"  # the same person's events, new ids: loaded
    (data / "raw" / "email" / "late-events.json").write_text(json.dumps(events))
    _ok(lifecycle(env, "ingest", "--data-dir", str(data)))
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        loaded = con.execute(
            "select count(*) from raw.sendgrid_events where sg_event_id like 'late-%'"
        ).fetchall()
    finally:
        con.close()
    assert loaded[0][0] == len(events)
    assert scan_data_dir(data, needles) == []
