"""Sync history of file destinations: one folder per run, latest copies, retention, the left-out
counts in the manifest, and the sweep of what a kill -9 mid-write leaves behind (a real subprocess)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.activation.mini_warehouse import person, sync, write_warehouse

REPO = Path(__file__).resolve().parents[2]

HISTORY_YML = """
destinations:
  file:
    type: file
    history_runs: 2
segments:
  - name: win_back
    description: at risk
    filter: "lifecycle_stage = 'at_risk'"
    fields: [person_id, email, name, net_revenue]
    destinations: [file]
"""

UPSELL_YML = """
destinations:
  file: {type: file}
segments:
  - name: upsell
    description: upsell, with the support exclusion
    model: mart_upsell_candidates
    fields: [person_id, email, recommended_product_id]
    destinations: [file]
    exclude_support_issues: true
"""


def files_of(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def litter(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.name.endswith(".tmp"))


def test_every_run_is_kept_latest_is_the_newest_and_retention_prunes(make_settings):
    settings = make_settings(HISTORY_YML)
    seg_dir = settings.outbound_dir / "file" / "win_back"
    run_ids = []
    for n in range(3):
        write_warehouse(settings, [person(f"p{i}", f"p{i}@example.com") for i in range(n + 2)])
        sync(settings)
        manifest = json.loads((seg_dir / "manifest.json").read_text())
        run_ids.append(manifest["run_id"])
        run_dir = seg_dir / "runs" / manifest["run_id"]
        # The top-level files are plain copies of the newest run, byte for byte.
        assert files_of(run_dir) == files_of(seg_dir)
        assert not (seg_dir / "latest.csv").is_symlink()
        assert manifest["row_counts"]["adds"] == (2 if n == 0 else 1)
    kept = sorted(p.name for p in (seg_dir / "runs").iterdir())
    assert kept == sorted(run_ids[1:]), "history_runs: 2 keeps the two newest runs"
    # Each kept run still holds its own adds, not the next run's (usually empty) list.
    first_kept = (seg_dir / "runs" / run_ids[1] / "adds.csv").read_text().splitlines()
    assert first_kept[1].startswith("p2,")
    assert litter(seg_dir) == []


def test_manifest_counts_persons_left_out_by_reason(make_settings):
    settings = make_settings(UPSELL_YML)
    persons = [
        person("ok1", "ok1@example.com"),
        person("unsub", "unsub@example.com"),
        person("hard", "hard@example.com"),
        person("drop", "drop@example.com"),
        person("spam", "spam@example.com"),
        person("erased", "erased@example.com"),
        person("noemail", None),
        person("ticket", "ticket@example.com", open_high_urgent_tickets=1),
        person("csat", "csat@example.com", last_bad_csat_at=datetime(2026, 6, 20)),
        person("oldcsat", "oldcsat@example.com", last_bad_csat_at=datetime(2025, 1, 1)),
        person("twin", "OK1@example.com"),  # same address as ok1: one message per address
        person("both", "both@example.com", open_high_urgent_tickets=2),
        person("secondaddr", "second@example.com"),
    ]
    write_warehouse(
        settings,
        persons,
        suppressions=[
            "unsub@example.com",
            ("hard@example.com", "hard_bounce"),
            ("drop@example.com", "dropped"),
            ("spam@example.com", "spam_report"),
            ("both@example.com", "spam_report,unsubscribed"),
            ("old-address@example.com", "unsubscribed"),
        ],
        erasures=["Erased@Example.com"],
        identities=[("secondaddr", "old-address@example.com")],
        upsell=[
            {"person_id": p["person_id"], "recommended_product_id": "x", "current_product_id": "y"}
            for p in persons
        ],
    )
    result = sync(settings)
    assert result[("upsell", "file")]["rows"] == 2  # ok1, oldcsat
    manifest = json.loads((settings.outbound_dir / "file" / "upsell" / "manifest.json").read_text())
    left = manifest["left_out"]
    assert (left["candidates"], left["total"]) == (13, 11)
    assert left["by_reason"] == {
        "unsubscribed": 3,  # unsub, both, secondaddr (through its second address)
        "bounced": 2,  # hard bounce and drop
        "spam_report": 2,
        "erased": 1,
        "no_email": 1,
        "open_ticket": 2,
        "bad_csat": 1,  # the old bad CSAT is outside the window
        "duplicate_address": 1,
        "other": 0,
        "holdout": 0,  # upsell declares no holdout
    }
    # The same counts are in the run's own manifest.
    run_manifest = settings.outbound_dir / "file" / "upsell" / manifest["run_dir"] / "manifest.json"
    assert json.loads(run_manifest.read_text())["left_out"] == left


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from flows.settings import Settings, configure_environment
from flows.activation.destinations import file as file_dest
from tests.activation.mini_warehouse import sync

data_dir, seg_file, kill_at, marker = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
settings = Settings(data_dir=Path(data_dir), segments_file=Path(seg_file))
configure_environment(settings)
real = file_dest._write_bytes
calls = {"n": 0}

def stalling(path, data):
    calls["n"] += 1
    if calls["n"] == kill_at:
        real(path, data[: len(data) // 2])  # half a file under its temp name ...
        marker.write_text(str(path))  # ... then tell the test where we are, and hang
        time.sleep(120)
    real(path, data)

file_dest._write_bytes = stalling
sync(settings)
"""


@pytest.mark.parametrize(
    ("kill_at", "where"),
    [(3, "inside the run folder"), (7, "among the top-level copies")],
)
def test_kill9_mid_write_leaves_no_visible_half_file_and_next_run_sweeps(
    make_settings, tmp_path, kill_at, where
):
    settings = make_settings(HISTORY_YML)
    write_warehouse(settings, [person(f"p{i}", f"p{i}@example.com") for i in range(3)])
    sync(settings)
    seg_dir = settings.outbound_dir / "file" / "win_back"
    before = files_of(seg_dir)
    write_warehouse(settings, [person(f"p{i}", f"p{i}@example.com") for i in range(5)])

    marker = tmp_path / "stalled"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILL_SCRIPT,
            str(settings.root),
            str(settings.segments_file),
            str(kill_at),
            str(marker),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"sync ended before the kill point: {proc.stderr.read().decode()[-2000:]}")
        assert time.monotonic() < deadline, "the sync subprocess never reached the kill point"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    left = litter(seg_dir)
    assert left, f"a kill {where} leaves temp names behind (that is what the sweep is for)"
    # Whatever is visible is complete: the top-level files are still the last good run's ...
    # (killed among the top-level temp writes, nothing was renamed over them yet).
    assert {k: v for k, v in files_of(seg_dir).items() if not k.startswith(".")} == before
    assert not [p for p in (seg_dir / "runs").iterdir() if p.name.startswith(".") and p.is_file()]

    result = sync(settings)
    assert result[("win_back", "file")]["status"] == "ok"
    assert litter(seg_dir) == [], "the next write swept the killed run's temp files"
    manifest = json.loads((seg_dir / "manifest.json").read_text())
    assert sorted(manifest["swept"]) == left
    assert manifest["row_counts"]["latest"] == 5
    # State never moved for the killed run, so the good run re-sends its two adds.
    assert manifest["row_counts"]["adds"] == 2
