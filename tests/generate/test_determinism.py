"""Same seed and arguments give byte-identical files; re-runs overwrite instead of doubling."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from flows.errors import LifecycleError
from flows.generate import generate


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_and_rerun_overwrites(tmp_path: Path) -> None:
    args = dict(customers=150, days=40, seed=3, start=date(2025, 3, 1), dirty_rate=0.03)
    a, b = tmp_path / "a", tmp_path / "b"
    generate(a, **args)
    generate(b, **args)
    first = _digest(a)
    assert first == _digest(b)
    # sync_history: the demo win-back campaign's simulated sync log (flows/generate/campaigns.py)
    assert {k.split("/")[0] for k in first} == {"web", "email", "tickets", "spend", "erasure", "sync_history"}
    generate(a, **args)  # into a directory that already has the files
    assert _digest(a) == first  # same names, same bytes: nothing doubled, nothing left behind
    assert not [p for p in a.rglob(".*") if p.is_file()]  # no temp files left
    generate(b, **{**args, "seed": 4})
    assert _digest(b) != first


def test_default_start_ends_yesterday_never_in_the_future(tmp_path: Path) -> None:
    summary = generate(tmp_path, customers=30, days=3, seed=1, start=None, dirty_rate=0.0)
    today = datetime.now(UTC).date()
    assert summary.end == today - timedelta(days=1)
    assert summary.start == today - timedelta(days=3)
    assert "30 persons" in str(summary) and "web" in str(summary)


def test_future_window_is_refused(tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    with pytest.raises(LifecycleError, match="after"):
        generate(tmp_path, customers=10, days=10, seed=1, start=today - timedelta(days=5), dirty_rate=0.0)
