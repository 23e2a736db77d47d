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


def _every_parser():
    from flows.cli import _all_parsers, _parser

    return _all_parsers(_parser())


def test_every_flag_and_argument_has_help_text() -> None:
    import argparse

    missing = [
        f"{p.prog} {a.dest}"
        for p in _every_parser()
        for a in p._actions
        if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction) and not a.help
    ]
    assert missing == []


def test_every_command_parses(tmp_path) -> None:
    from flows.cli import _parser

    cases = {
        "generate --customers 10 --days 5 --seed 3 --start 2026-01-01 --dirty-rate 0": {
            "customers": 10,
            "days": 5,
            "seed": 3,
            "dirty_rate": 0.0,
        },
        "run --full-refresh --start-date 2026-03-01 --end-date 2026-03-31 --wait": {
            "full_refresh": True,
            "wait": True,
        },
        "ingest tickets --api": {"source": "tickets", "api": True},
        "ingest": {"source": "all", "api": False},
        "build --full-refresh --select stg_x+ --unit-tests": {"select": "stg_x+", "unit_tests": True},
        "check": {},
        "sync win_back vip --dry-run": {"segments": ["win_back", "vip"], "dry_run": True},
        "report": {},
        "publish": {},
        "person show a@b.c --json": {"action": "show", "who": "a@b.c", "json": True},
        "quarantine --check raw_web.timestamps_in_window": {"check": "raw_web.timestamps_in_window"},
        "deploy --pool lc --sync-cron '15 * * * *'": {"pool": "lc", "sync_cron": "15 * * * *"},
        "serve --ingest-interval 60 --run-cron '0 3 * * *' --port 4300": {
            "ingest_interval": 60.0,
            "run_cron": "0 3 * * *",
            "port": 4300,
        },
    }
    import shlex

    commands = {p.prog.split()[-1] for p in _every_parser()[1:]}
    assert commands - {c.split()[0] for c in cases} <= {"docs"}, "a new command needs a parse case here"
    for line, expected in cases.items():
        args = _parser().parse_args([*shlex.split(line), "--data-dir", str(tmp_path)])
        assert args.command == line.split()[0]
        assert args.data_dir == tmp_path
        for key, value in expected.items():
            assert getattr(args, key) == value, (line, key)


def _usage_error(*argv: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli", *argv], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 2
    return proc.stderr.splitlines()[-1]


def test_misspelt_command_gets_the_closest_command() -> None:
    assert _usage_error("rnu").endswith("(did you mean 'run'?)")


def test_misspelt_flag_gets_the_closest_flag() -> None:
    assert _usage_error("run", "--ful-refresh").endswith("(did you mean '--full-refresh'?)")
    assert _usage_error("report", "--data-dri", "x").endswith("(did you mean '--data-dir'?)")


def test_misspelt_choice_gets_the_closest_choice() -> None:
    assert _usage_error("ingest", "tiket").endswith("(did you mean 'tickets'?)")


def test_deploy_without_a_persistent_server_is_one_line_naming_what_to_start(tmp_path) -> None:
    """Deployments on a temporary server would vanish with it: `deploy` refuses at once."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli", "deploy", "--data-dir", str(tmp_path / "d")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "lifecycle deploy: deployments need a persistent Prefect server (PREFECT_API_URL is not set) "
        "(start one with `prefect server start` and export PREFECT_API_URL=http://127.0.0.1:4200/api)"
    ]
