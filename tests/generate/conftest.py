"""Generated data sets shared by the generator tests (each generated once per module/session)."""

from __future__ import annotations

import functools
import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from flows.generate import GenerateSummary, generate

# A fixed window well in the past, long enough for churned customers (last order > 180 days ago).
START = date(2025, 1, 6)


@pytest.fixture(scope="session")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateSummary]:
    raw = tmp_path_factory.mktemp("gen-clean") / "raw"
    summary = generate(raw, customers=700, days=365, seed=11, start=START, dirty_rate=0.0)
    return raw, summary


@pytest.fixture(scope="session")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateSummary]:
    raw = tmp_path_factory.mktemp("gen-dirty") / "raw"
    summary = generate(raw, customers=400, days=60, seed=5, start=START, dirty_rate=0.05)
    return raw, summary


@functools.cache
def web_lines(raw: Path) -> list[tuple[Path, str]]:
    """(file, line) for every web line; cached, since several tests read the same data set."""
    out = []
    for f in sorted((raw / "web").rglob("*.jsonl.gz")):
        with gzip.open(f, "rt") as fh:
            out.extend((f, line.rstrip("\n")) for line in fh)
    return out


@functools.cache
def web_messages(raw: Path) -> list[dict]:
    """Parsed web messages of a clean data set (cached)."""
    return [json.loads(line) for _, line in web_lines(raw)]


@functools.cache
def email_records(raw: Path) -> list[tuple[Path, str]]:
    """(file, raw record text) for every SendGrid record, from both array and JSONL files."""
    out = []
    for f in sorted((raw / "email").rglob("*.json*")):
        text = f.read_text()
        if f.suffix == ".json":
            out.extend((f, json.dumps(r)) for r in json.loads(text))
        else:
            out.extend((f, line) for line in text.splitlines())
    return out


def parse(line: str) -> dict | None:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None
