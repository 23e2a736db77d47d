"""Fixtures for activation tests; the hand-made warehouse helpers are in mini_warehouse.py."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.activation.mini_warehouse import SEGMENTS_YML


@pytest.fixture
def make_settings(tmp_path: Path):
    """Settings for a fresh data dir with a given segments.yml text; the environment each one
    points at the data dir is restored after the test (the last made first)."""
    from flows.settings import Settings, configure_environment

    changes = []

    def _make(yml: str = SEGMENTS_YML, name: str = "data") -> Any:
        seg_file = tmp_path / f"{name}-segments.yml"
        seg_file.write_text(textwrap.dedent(yml))
        s = Settings(data_dir=tmp_path / name, segments_file=seg_file)
        changes.append(configure_environment(s))
        return s

    yield _make
    for change in reversed(changes):
        change.restore()
