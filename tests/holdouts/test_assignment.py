"""Holdout assignment from the user's side: `lifecycle sync` (sync_flow) on a small hand-made warehouse.

Checks what a marketer would: no held-out person in any outbound file, the manifest counts them,
sync.holdout_assignments records both groups once, and the groups never move across runs, a
person leaving and re-entering the segment, or a changed share/salt.
"""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path

import duckdb
import pytest

from flows.activation.holdouts import assign_group, bucket_sql, holdout_bucket
from flows.warehouse import fetch_all, open_warehouse
from tests.activation.mini_warehouse import person, write_warehouse

YML = """
destinations:
  file:
    type: file
  ads_audience:
    type: ads_audience
    default_country_code: "44"
segments:
  - name: win_back
    description: at risk
    filter: "lifecycle_stage = 'at_risk'"
    fields: [person_id, email, name]
    destinations: [file, ads_audience]
    holdout: {share}
"""


def _settings(tmp_path: Path, share: float = 0.3, name: str = "data", **kw):
    from flows.settings import Settings, configure_environment

    seg_file = tmp_path / f"{name}-segments.yml"
    seg_file.write_text(textwrap.dedent(YML.format(share=share)))
    s = Settings(data_dir=tmp_path / name, segments_file=seg_file, **kw)
    configure_environment(s)
    return s


def _persons(n: int, stage: str = "at_risk", skip: set[str] = frozenset()) -> list[dict]:
    return [
        person(f"p{i:04d}", f"user{i}@example.com", lifecycle_stage=stage)
        for i in range(n)
        if f"p{i:04d}" not in skip
    ]


def _assignments(settings) -> dict[str, tuple[str, object]]:
    with open_warehouse(settings, read_only=True) as con:
        rows = fetch_all(
            con,
            "select person_id, assigned_group, assigned_at from sync.holdout_assignments "
            "where segment = 'win_back'",
        )
    return {r[0]: (r[1], r[2]) for r in rows}


def _outbound_ids(settings) -> set[str]:
    """Every person_id in every outbound file (the plain file destination carries person_id)."""
    ids: set[str] = set()
    for path in (settings.outbound_dir / "file").rglob("*.csv"):
        with path.open() as fh:
            ids |= {row["person_id"] for row in csv.DictReader(fh)}
    return ids


def _outbound_emails_hashed(settings) -> set[str]:
    out: set[str] = set()
    for path in (settings.outbound_dir / "ads_audience").rglob("*.csv"):
        with path.open() as fh:
            out |= {row.get("email_sha256", "") for row in csv.DictReader(fh)}
    return out


def test_python_and_sql_buckets_agree():
    ids = [f"p_{i:016x}" for i in range(0, 5000, 7)]
    con = duckdb.connect()
    con.execute("create table t as select unnest(?) as person_id", [ids])
    sql = fetch_all(con, f"select person_id, {bucket_sql('person_id', 'win_back', 's1')} from t")
    assert {pid: b for pid, b in sql} == pytest.approx(
        {pid: holdout_bucket(pid, "win_back", "s1") for pid in ids}
    )
    share = sum(assign_group(pid, "win_back", "s1", 0.1) == "holdout" for pid in ids) / len(ids)
    assert 0.06 < share < 0.14  # uniform buckets: about the share is held out


@pytest.mark.slow
def test_holdouts_never_exported_counted_and_stable(prefect_harness, tmp_path):
    import hashlib

    from flows.activation.flows import sync_flow

    settings = _settings(tmp_path)
    write_warehouse(settings, _persons(200))
    summary = sync_flow(settings)
    assert summary.ok, str(summary)

    first = _assignments(settings)
    assert len(first) == 200
    held = {p for p, (g, _) in first.items() if g == "holdout"}
    assert 30 < len(held) < 90  # 30% of 200, give or take
    assert held == {p for p in first if assign_group(p, "win_back", settings.holdout_salt, 0.3) == "holdout"}

    # No held-out person in any outbound file, plain or hashed.
    sent = _outbound_ids(settings)
    assert sent and not sent & held
    held_hashes = {hashlib.sha256(f"user{int(p[1:])}@example.com".encode()).hexdigest() for p in held}
    assert not _outbound_emails_hashed(settings) & held_hashes
    manifest = json.loads((settings.outbound_dir / "file" / "win_back" / "manifest.json").read_text())
    assert manifest["left_out"]["by_reason"]["holdout"] == len(held)
    assert manifest["row_counts"]["latest"] == 200 - len(held)

    # p0000..p0019 leave the segment, then come back under a different share and salt: same groups,
    # same first entry (assigned_at), and still nobody held out is sent.
    gone = {f"p{i:04d}" for i in range(20)}
    write_warehouse(settings, _persons(200, skip=gone) + _persons(250)[200:])
    assert sync_flow(settings).ok
    moved = _settings(tmp_path, share=0.1, holdout_salt="another-salt")
    write_warehouse(moved, _persons(250))
    assert sync_flow(moved).ok
    after = _assignments(moved)
    assert {p: after[p] for p in first} == first
    assert len(after) == 250
    latest = (moved.outbound_dir / "file" / "win_back" / "latest.csv").read_text()
    assert not any(p in latest for p in held)
    assert not _outbound_ids(moved) & {p for p, (g, _) in after.items() if g == "holdout"}


def test_bad_holdout_share_is_one_clear_line():
    import yaml

    from flows.activation.config import ConfigError, parse_config

    raw = yaml.safe_load(textwrap.dedent(YML.format(share=0.9)))
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    message = str(err.value)
    assert "win_back" in message and "holdout" in message and "0.5" in message
    assert "\n" not in message
