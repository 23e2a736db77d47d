"""CLI behaviour that needs no pipeline: help, and one clear error line instead of a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flows.errors import LifecycleError

REPO = Path(__file__).resolve().parents[1]


def test_help_lists_every_spec_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "flows.cli", "--help"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    for command in ("generate", "run", "ingest", "build", "check", "sync", "report", "serve"):
        assert command in out


def test_unexpected_error_is_one_line_pointing_at_debug() -> None:
    line = LifecycleError.describe(ValueError("bad thing\nmore detail"))
    assert line == "ValueError: bad thing (re-run with --debug for the stack trace)"


def test_expected_error_carries_its_hint() -> None:
    assert str(LifecycleError("warehouse busy", hint="wait")) == "warehouse busy (wait)"


def test_global_options_work_before_and_after_the_command(tmp_path) -> None:
    from flows.cli import _parser

    before = _parser().parse_args(["--data-dir", str(tmp_path), "--debug", "run"])
    assert (before.data_dir, before.debug, before.command) == (tmp_path, True, "run")
    after = _parser().parse_args(["report", "--data-dir", str(tmp_path)])
    assert (after.data_dir, after.debug) == (tmp_path, False)
    neither = _parser().parse_args(["check"])
    assert (neither.data_dir, neither.debug) == (None, False)
