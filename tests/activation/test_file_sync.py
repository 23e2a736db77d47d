"""File and ads destinations across syncs: diffs, manifests, atomic writes, dry run (plain functions)."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from flows.activation import destinations
from flows.activation.destinations import file as file_dest
from flows.warehouse import fetch_all, open_warehouse
from tests.activation.mini_warehouse import person, sync, write_warehouse


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


PERSONS = [
    person("p1", "one@example.com", phone="+44 7700 900123"),
    person("p2", "Two@Example.com"),
    person("p3", "t.h.r.e.e@gmail.com", phone="07700 900456"),
    person("p4", "four@example.com"),
    person("lead", "lead@example.com", lifecycle_stage="acquisition"),
]


def test_two_syncs_write_correct_diffs_and_manifests(make_settings):
    settings = make_settings()
    write_warehouse(settings, PERSONS)
    first = sync(settings)
    assert first[("win_back", "file")] | {"error": None} == first[("win_back", "file")]
    assert (first[("win_back", "file")]["rows"], first[("win_back", "file")]["adds"]) == (4, 4)
    seg_dir = settings.outbound_dir / "file" / "win_back"
    assert [r["person_id"] for r in read_csv(seg_dir / "latest.csv")] == ["p1", "p2", "p3", "p4"]
    assert len(read_csv(seg_dir / "adds.csv")) == 4
    assert read_csv(seg_dir / "removes.csv") == []

    # Second sync: p1 changes, p2 unsubscribes, p5 is new, p3 and p4 are unchanged.
    changed = [dict(p) for p in PERSONS]
    changed[0]["net_revenue"] = 250.0
    changed.append(person("p5", "five@example.com"))
    write_warehouse(settings, changed, suppressions=["two@example.com"])
    second = sync(settings)
    row = second[("win_back", "file")]
    assert (row["rows"], row["adds"], row["changes"], row["removes"], row["status"]) == (4, 1, 1, 1, "ok")
    assert [r["person_id"] for r in read_csv(seg_dir / "adds.csv")] == ["p5"]
    assert [(r["person_id"], r["net_revenue"]) for r in read_csv(seg_dir / "changes.csv")] == [
        ("p1", "250.0")
    ]
    removes = read_csv(seg_dir / "removes.csv")
    assert [(r["person_id"], r["email"]) for r in removes] == [("p2", "Two@Example.com")]
    assert [r["person_id"] for r in read_csv(seg_dir / "latest.csv")] == ["p1", "p3", "p4", "p5"]

    manifest = json.loads((seg_dir / "manifest.json").read_text())
    assert manifest["segment"] == "win_back"
    assert manifest["as_of"] == "2026-06-30T12:00:00"
    assert manifest["columns"] == ["person_id", "email", "name", "net_revenue"]
    assert manifest["row_counts"] == {"latest": 4, "adds": 1, "changes": 1, "removes": 1}
    for fname, meta in manifest["files"].items():
        assert hashlib.sha256((seg_dir / fname).read_bytes()).hexdigest() == meta["sha256"]
    assert not list(seg_dir.glob(".*tmp"))

    # A third sync over the same data has nothing to add, change or remove.
    third = sync(settings)
    assert {k: (v["adds"], v["changes"], v["removes"]) for k, v in third.items()} == {
        k: (0, 0, 0) for k in third
    }
    assert len(read_csv(seg_dir / "latest.csv")) == 4

    with open_warehouse(settings, read_only=True) as con:
        runs = fetch_all(con, "select count(distinct run_id) from sync.results")[0][0]
        keys = fetch_all(
            con,
            "select record_key from sync.record_state where destination = 'file' "
            "and segment = 'win_back' order by 1",
        )
    assert runs == 3
    assert [k[0] for k in keys] == ["p1", "p3", "p4", "p5"]


def test_ads_files_hold_hashed_identifiers_only(make_settings):
    settings = make_settings()
    write_warehouse(settings, PERSONS)
    sync(settings)
    write_warehouse(settings, PERSONS[1:])  # p1 leaves the audience
    sync(settings)
    ads_dir = settings.outbound_dir / "ads_audience" / "win_back"
    latest = read_csv(ads_dir / "latest.csv")
    assert list(latest[0]) == ["email_sha256", "phone_sha256"]
    sha = lambda s: hashlib.sha256(s.encode()).hexdigest()  # noqa: E731
    assert {r["email_sha256"] for r in latest} == {
        sha("two@example.com"),
        sha("three@gmail.com"),
        sha("four@example.com"),
    }
    # 07700 900456 with default_country_code 44 -> +447700900456
    assert sha("+447700900456") in {r["phone_sha256"] for r in latest}
    assert read_csv(ads_dir / "removes.csv") == [
        {"email_sha256": sha("one@example.com"), "phone_sha256": sha("+447700900123")}
    ]
    for path in [p for p in ads_dir.rglob("*") if p.is_file()]:
        text = path.read_text()
        assert "@" not in text and "p1" not in text and "7700" not in text, path.name


def test_failure_mid_write_leaves_previous_files_and_state(make_settings, monkeypatch):
    settings = make_settings()
    write_warehouse(settings, PERSONS)
    sync(settings)
    before = snapshot(settings.outbound_dir)
    write_warehouse(settings, PERSONS[:2])
    calls = {"n": 0}
    real = file_dest._write_bytes

    def flaky(path, data):
        calls["n"] += 1
        if calls["n"] == 3:
            real(path, data[: len(data) // 2])  # a half-written temp file, then the crash
            raise OSError("disk full")
        real(path, data)

    monkeypatch.setattr(file_dest, "_write_bytes", flaky)
    result = sync(settings)
    assert result[("win_back", "file")]["status"] == "failed"
    assert "disk full" in result[("win_back", "file")]["error"]
    assert snapshot(settings.outbound_dir / "file" / "win_back") == {
        k.removeprefix("file/win_back/"): v for k, v in before.items() if k.startswith("file/win_back/")
    }
    monkeypatch.setattr(file_dest, "_write_bytes", real)
    # State did not move: the next good sync still reports the two removes against the last good one.
    again = sync(settings)
    assert again[("win_back", "file")]["removes"] == 2
    assert not [p for p in settings.outbound_dir.rglob("*") if p.name.endswith(".tmp")]


def test_dry_run_writes_nothing(make_settings):
    settings = make_settings()
    write_warehouse(settings, PERSONS)
    before = settings.warehouse_path.read_bytes()
    dry = sync(settings, dry_run=True)
    assert dry[("win_back", "file")]["status"] == "dry-run"
    assert dry[("win_back", "file")]["adds"] == 4
    assert not settings.outbound_dir.exists()
    assert settings.warehouse_path.read_bytes() == before
    sync(settings)
    write_warehouse(settings, PERSONS[1:])
    before_files = snapshot(settings.outbound_dir)
    before = settings.warehouse_path.read_bytes()
    dry = sync(settings, dry_run=True)
    assert (dry[("win_back", "file")]["removes"], dry[("win_back", "file")]["adds"]) == (1, 0)
    assert snapshot(settings.outbound_dir) == before_files
    assert settings.warehouse_path.read_bytes() == before


def test_delivery_result_defaults():
    result = destinations.DeliveryResult(status="ok")
    assert result.removed_keys == [] and result.dead_letters == [] and result.failures == 0


@pytest.mark.parametrize("empty", [True])
def test_empty_audience_still_writes_headers(make_settings, empty):
    settings = make_settings()
    write_warehouse(settings, [person("lead", "lead@example.com", lifecycle_stage="acquisition")])
    sync(settings)
    latest = (settings.outbound_dir / "file" / "win_back" / "latest.csv").read_text()
    assert latest.strip() == "person_id,email,name,net_revenue"
