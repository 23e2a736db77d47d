"""The `lifecycle` command line (SPEC section 2).

Thin by design: it parses arguments, prepares the environment (before Prefect is imported, since
Prefect reads PREFECT_HOME at import) and calls one flow. Errors become one clear line and a
non-zero exit; `--debug` shows the stack trace.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import NoReturn

from flows.errors import LifecycleError
from flows.settings import Settings, configure_environment

SOURCES = ("web", "email", "tickets", "spend", "erasure", "all")
# Commands whose configuration (segments.yml, quality thresholds, dbt vars) is checked first.
PREFLIGHT_COMMANDS = frozenset({"run", "sync", "serve", "deploy", "check", "publish", "build", "ingest"})


class _Parser(argparse.ArgumentParser):
    """argparse with a closest-match suggestion for a misspelt command, choice or option (difflib)."""

    def error(self, message: str) -> NoReturn:
        import difflib
        import re

        hint = ""
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        unknown = re.search(r"unrecognized arguments: (\S+)", message)
        if choice:
            options = re.findall(r"'([^']*)'", choice.group(2)) or choice.group(2).split(", ")
            match = difflib.get_close_matches(choice.group(1), options, n=1)
            hint = f" (did you mean {match[0]!r}?)" if match else ""
        elif unknown:
            flags = sorted({o for p in _all_parsers(self) for a in p._actions for o in a.option_strings})
            match = difflib.get_close_matches(unknown.group(1).split("=")[0], flags, n=1)
            hint = f" (did you mean {match[0]!r}?)" if match else ""
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}{hint}\n")


def _all_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _all_parsers(sub)
    return found


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="data directory (env LIFECYCLE_DATA_DIR, default ./data)",
    )
    common.add_argument("--debug", action="store_true", help="show stack traces and verbose logs")

    # The same options after the command: SUPPRESS as default, so a subcommand that does not repeat an
    # option leaves the value given before the command (`lifecycle --data-dir X run`) in place.
    after = argparse.ArgumentParser(add_help=False)
    after.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS, help="data directory")
    after.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show stack traces")

    parser = _Parser(prog="lifecycle", description=__doc__.splitlines()[0], parents=[common])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = sub.add_parser("generate", parents=[after], help="write synthetic raw files into DIR/raw")
    gen.add_argument("--customers", type=int, default=2000, help="persons to simulate (default 2000)")
    gen.add_argument("--days", type=int, default=365, help="days of history (default 365)")
    gen.add_argument("--seed", type=int, default=42, help="random seed: same seed, same files (default 42)")
    gen.add_argument("--start", type=date.fromisoformat, default=None, help="first day, YYYY-MM-DD")
    gen.add_argument("--dirty-rate", type=float, default=0.01, help="share of dirty records (default 0.01)")
    gen.add_argument(
        "--winback-effect",
        type=float,
        default=0.25,
        help="demo win-back campaign: chance a reachable treated customer orders again (default 0.25)",
    )

    run = sub.add_parser("run", parents=[after], help="the whole pipeline once")
    run.add_argument("--full-refresh", action="store_true", help="rebuild incremental models from scratch")
    run.add_argument("--start-date", type=date.fromisoformat, default=None, help="replay from this day")
    run.add_argument("--end-date", type=date.fromisoformat, default=None, help="replay up to this day")
    run.add_argument("--wait", action="store_true", help="wait for a running pipeline instead of exiting")

    ing = sub.add_parser("ingest", parents=[after], help="load new raw files or API pages")
    ing.add_argument("source", nargs="?", default="all", choices=SOURCES, help="which source (default all)")
    ing.add_argument("--api", action="store_true", help="tickets: fetch from the Zendesk API")

    build = sub.add_parser("build", parents=[after], help="dbt build (models, snapshots, tests)")
    build.add_argument("--full-refresh", action="store_true", help="rebuild incremental models from scratch")
    build.add_argument("--select", default=None, help="dbt node selection")
    build.add_argument(
        "--unit-tests",
        action="store_true",
        default=None,
        help="also run dbt unit tests (default: env LIFECYCLE_DBT_UNIT_TESTS, off in production)",
    )

    sub.add_parser("check", parents=[after], help="data quality suites on raw and marts")

    sync = sub.add_parser("sync", parents=[after], help="compute segments and push to destinations")
    sync.add_argument("segments", nargs="*", help="segment names (default: all)")
    sync.add_argument("--dry-run", action="store_true", help="print adds/changes/removes, write nothing")

    sub.add_parser("report", parents=[after], help="write the KPI report (HTML)")
    sub.add_parser("publish", parents=[after], help="publish marts for BI (after a good run)")
    sub.add_parser("docs", parents=[after], help="build the dbt docs (lineage, descriptions) into DIR/docs/")

    person = sub.add_parser(
        "person", parents=[after], help="one person: show, export (access request), erase"
    )
    person.add_argument("action", choices=("show", "export", "erase"), help="what to do with the person")
    person.add_argument(
        "who", metavar="EMAIL|PERSON_ID", help="an email address, a person_id or another identifier"
    )
    person.add_argument("--json", action="store_true", help="show: print JSON instead of text")
    person.add_argument(
        "--out", type=Path, default=None, help="export: file to write (default DIR/exports/<id>.json)"
    )

    quarantine = sub.add_parser(
        "quarantine", parents=[after], help="move the rows that block a gate check into raw.rejects"
    )
    quarantine.add_argument(
        "--check",
        required=True,
        metavar="SUITE.CHECK",
        help="the blocking check, as the gate names it (e.g. raw_web.timestamps_in_window)",
    )

    serve = sub.add_parser("serve", parents=[after], help="start the scheduled deployments")
    serve.add_argument("--ingest-cron", default="0 * * * *", help="cron for ingest (default hourly)")
    serve.add_argument("--run-cron", default="30 2 * * *", help="cron for the full run (default daily)")
    serve.add_argument(
        "--ingest-interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="ingest every N seconds instead",
    )
    serve.add_argument(
        "--run-interval", type=float, default=None, metavar="SECONDS", help="full run every N seconds instead"
    )
    serve.add_argument(
        "--port",
        type=int,
        default=4200,
        help="port of the local Prefect server and UI (without PREFECT_API_URL)",
    )
    deploy = sub.add_parser(
        "deploy",
        parents=[after],
        help="register the scheduled flows as deployments of a process work pool (for Prefect workers)",
    )
    deploy.add_argument(
        "--pool", default="lifecycle", help="work pool name, created if missing (default lifecycle)"
    )
    deploy.add_argument(
        "--ingest-cron", default="0 * * * *", help="cron for each source's ingest (default hourly)"
    )
    deploy.add_argument("--run-cron", default="30 2 * * *", help="cron for the full run (default daily)")
    deploy.add_argument(
        "--sync-cron", default=None, help="cron for each segment's sync (default: none, run them on demand)"
    )
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    if args.debug:
        overrides["debug"] = True
    return Settings(**overrides)


# Commands that only read the warehouse (SPEC 2): without PREFECT_API_URL they run as plain functions,
# so they never wait 15-20 s for a temporary Prefect server (issue 16 item 5). With a server
# configured they run as flows and show in its UI, as every other command does.
READ_ONLY_COMMANDS = frozenset({"report", "check", "publish", "docs"})


def uses_prefect(args: argparse.Namespace) -> bool:
    """Whether this command runs Prefect flows (and so needs a Prefect API, temporary or not)."""
    if args.command == "generate":
        return False
    if os.environ.get("PREFECT_API_URL"):
        return True
    dry_sync = args.command == "sync" and bool(getattr(args, "dry_run", False))
    return args.command not in READ_ONLY_COMMANDS and not dry_sync


def _report(settings: Settings) -> Path:
    if os.environ.get("PREFECT_API_URL"):
        from flows.report import report_flow

        return report_flow(settings)
    from flows.report import build_report

    return build_report(settings)


def _check(settings: Settings):  # noqa: ANN202 - GateResult, imported lazily
    if os.environ.get("PREFECT_API_URL"):
        from flows.quality.flows import check_flow

        return check_flow(settings)
    from flows.quality.gates import run_gates

    return run_gates(settings, "all")


def _publish(settings: Settings) -> Path:
    from flows.publish import publish_flow, publish_marts

    if os.environ.get("PREFECT_API_URL"):
        return publish_flow(settings)
    from flows.errors import GateFailed
    from flows.quality.gates import run_mart_gate
    from flows.transform.run_guard import warehouse_guard

    with warehouse_guard(settings):  # the same rule as the flow: never publish marts that fail the gate
        gate = run_mart_gate(settings)
        if not gate.passed:
            raise GateFailed(f"mart gate failed, not publishing: {gate.summary_line()}")
        return publish_marts(settings)


def _print_quarantine_hints(settings: Settings, command: str, failed_text: str) -> None:
    """A blocked gate names the offending rows and the command that quarantines them (SPEC 2)."""
    from flows.quality.quarantine import blocking_hints

    for line in blocking_hints(settings, failed_text):
        print(f"lifecycle {command}: {line}", file=sys.stderr)


def _nodes_built(result: object) -> int:
    """Nodes a dbt build touched (BuildSummary counts); 0 means the selection matched nothing."""
    names = ("models", "seeds", "snapshots", "tests_passed", "tests_warned", "tests_failed", "unit_tests")
    return sum(int(getattr(result, n, 0) or 0) for n in names) + int(getattr(result, "skipped", 0) or 0)


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    """Run one command; returns the exit status. Imports are lazy so `--help` is instant."""
    cmd = args.command
    if cmd == "generate":
        from flows.generate import generate

        summary = generate(
            settings.raw_dir,
            customers=args.customers,
            days=args.days,
            seed=args.seed,
            start=args.start,
            dirty_rate=args.dirty_rate,
            winback_effect=args.winback_effect,
        )
        print(summary)
        return 0
    if cmd == "person":  # reads the warehouse read-only (erase: privacy's erasure); no Prefect server
        from flows.privacy.person import run_cli

        return run_cli(settings, args.action, args.who, as_json=args.json, out=args.out)
    if cmd == "quarantine":  # writes raw.* under the run lock; plain SQL, no Prefect server
        from flows.quality.quarantine import quarantine
        from flows.transform.run_guard import warehouse_guard

        with warehouse_guard(settings):
            print(quarantine(settings, args.check))
        return 0
    if uses_prefect(args):
        from flows.prefect_client import share_tls_context
        from flows.progress import quiet_tracebacks

        share_tls_context()  # one TLS context for all the process's Prefect API clients
        quiet_tracebacks(settings.debug)  # Prefect logs tracebacks of failed runs; one line unless --debug
    if cmd == "ingest":
        from flows.sources.flows import ingest_flow
        from flows.transform.run_guard import warehouse_guard

        with warehouse_guard(settings):  # ingest writes the warehouse: one writer at a time
            summary = ingest_flow(settings, source=args.source, api=args.api)
        print(summary)
        return 0
    if cmd == "build":
        from flows.transform import dbt_build_flow

        result = dbt_build_flow(
            settings, full_refresh=args.full_refresh, select=args.select, unit_tests=args.unit_tests
        )
        if args.select and not _nodes_built(result):
            raise LifecycleError(
                f"--select {args.select!r} matched no dbt model, seed, snapshot or test",
                hint="check the name; `dbt ls --select ...` in dbt_project/ lists what matches",
            )
        print(result)
        return 0
    if cmd == "check":
        result = _check(settings)
        print(result)
        if not result.passed:
            _print_quarantine_hints(settings, "check", " ".join(f.key for f in result.failures))
        return 0 if result.passed else 1
    if cmd == "sync":
        import contextlib

        from flows.transform.run_guard import warehouse_guard

        # A dry run only reads; a real sync writes sync state, so it takes the writer lock.
        guard = contextlib.nullcontext() if args.dry_run else warehouse_guard(settings)
        with guard:
            if uses_prefect(args):
                from flows.activation.flows import sync_flow

                result = sync_flow(settings, segments=args.segments or None, dry_run=args.dry_run)
            else:  # a dry run without a Prefect server: the same function, no temporary server
                from flows.activation.sync import run_sync

                result = run_sync(settings, segments=args.segments or None, dry_run=True)
        print(result)
        return 0 if result.ok else 1
    if cmd == "report":
        print(_report(settings))
        return 0
    if cmd == "publish":
        print(_publish(settings))
        return 0
    if cmd == "docs":
        from flows.docs import build_docs

        print(build_docs(settings))
        return 0
    if cmd == "run":
        from flows.pipeline import lifecycle_run

        result = lifecycle_run(
            settings,
            full_refresh=args.full_refresh,
            start_date=args.start_date,
            end_date=args.end_date,
            wait=args.wait,
        )
        print(result)
        if not result.ok:
            _print_quarantine_hints(settings, "run", str(result))
        return 0 if result.ok else 1
    if cmd == "deploy":
        from flows.deploy import deploy

        print(deploy(settings, args.pool, args.ingest_cron, args.run_cron, args.sync_cron))
        return 0
    if cmd == "serve":
        from flows.serve import serve

        serve(
            settings,
            ingest_cron=args.ingest_cron,
            run_cron=args.run_cron,
            ingest_interval=args.ingest_interval,
            run_interval=args.run_interval,
            port=args.port,
        )
        return 0
    raise LifecycleError(f"unknown command {cmd!r}")


def quiet_console_logs(debug: bool) -> None:
    """Logs go to the Prefect UI at INFO (every step, dbt's per-node lines); the terminal gets none.

    Why: the CLI prints its own start/end lines, summary and one error line (SPEC 2); Prefect's
    console handler printed ERROR lines, timestamps and colour codes before that line. Both are
    Prefect logging settings read from the environment when Prefect configures logging, so they also
    reach the flow-run processes `serve` and workers start. `--debug` keeps the console logs.
    """
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    if not sys.stdout.isatty():  # no ANSI codes in a log file or CI (dbt colours its lines by default)
        os.environ.setdefault("DBT_USE_COLORS", "false")
    if not debug:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = _settings(args)
    quiet_console_logs(settings.debug)
    configure_environment(settings)
    try:
        if args.command in PREFLIGHT_COMMANDS:
            from flows.preflight import validate_config

            # before any server starts: a config error arrives in under 3 s (issue 16 item 5)
            validate_config(
                settings,
                args.command,
                getattr(args, "segments", None),
                source=getattr(args, "source", "all"),
                api=getattr(args, "api", False),
            )
        return dispatch(args, settings)
    except KeyboardInterrupt:
        print("lifecycle: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line unless --debug (SPEC section 2)
        if settings.debug:
            raise
        print(f"lifecycle {args.command}: {LifecycleError.describe(exc)}", file=sys.stderr)
        return 1
    finally:
        from flows.transform.dbt import release_dbt_duckdb

        release_dbt_duckdb()


def entry_point() -> None:
    """Console-script entry: `main`, then a quiet interpreter teardown.

    duckdb 2.0's nanobind bindings print dozens of "leaked instance" lines at interpreter teardown
    while a library (dbt-duckdb) still holds DuckDB objects. They say nothing to a user, so stderr is
    pointed at /dev/null for teardown only, after everything the command says has been flushed.
    `--debug` keeps them. Not done in `main`, which tests call in-process.
    """
    code = main()
    if "--debug" not in sys.argv:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    sys.exit(code)


if __name__ == "__main__":
    entry_point()
