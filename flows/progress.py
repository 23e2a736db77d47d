"""Progress display for long steps (generation, ingest of many files, dbt nodes).

Why a module of its own: every long step should show progress the same way, and CI logs must not
fill with redraws. A live bar is drawn only when stderr is a terminal and `CI` is not set;
otherwise a step prints one start line and one end line on stdout, nothing in between.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from typing import TextIO


def progress_enabled(stream: TextIO | None = None) -> bool:
    """Live progress only for humans: a TTY, and not in CI (`CI=true`/`1`) or `LIFECYCLE_NO_PROGRESS`."""
    stream = stream or sys.stderr
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return False
    if os.environ.get("LIFECYCLE_NO_PROGRESS"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


class Step:
    """Handle for one long step: `advance()` as work completes, `note()` to change the label."""

    def __init__(self, description: str, total: int | None, stream: TextIO, live: bool) -> None:
        self.description = description
        self.total = total
        self.completed = 0
        self._stream = stream
        self._progress = None
        self._task_id = None
        if live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=stream),
                transient=True,
            )
            self._progress.start()
            self._task_id = self._progress.add_task(description, total=total)

    def advance(self, n: int = 1) -> None:
        self.completed += n
        if self._progress is not None:
            self._progress.update(self._task_id, advance=n)

    def set_total(self, total: int) -> None:
        self.total = total
        if self._progress is not None:
            self._progress.update(self._task_id, total=total)

    def note(self, description: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task_id, description=description)

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def _run_log(message: str) -> None:
    """The same line at INFO in the Prefect run's log (its UI Logs tab), when inside a flow run.

    Only when Prefect is already imported: a plain command (report, check) never pays its import.
    """
    if "prefect" not in sys.modules:
        return
    try:
        from prefect import get_run_logger

        get_run_logger().info(message)
    except Exception:  # outside a flow or task run: the terminal line is enough
        pass


def _write(stream: TextIO, line: str) -> None:
    """Write a line to the stream itself, not through `print`: flows run with `log_prints=True`, which
    turns a print into a Prefect log record, and the console shows no Prefect logs (so the line was lost
    off a terminal). The Prefect UI gets the same line through `_run_log`."""
    stream.write(line + "\n")
    stream.flush()


@contextlib.contextmanager
def step(description: str, total: int | None = None, stream: TextIO | None = None) -> Iterator[Step]:
    """Show progress for one long step.

    On a terminal: a live bar on stderr (with done/total once the caller knows the total,
    `Step.set_total`). Off a terminal (a log file, CI): one start and one end line on stdout, with
    counts and seconds, nothing in between and no ANSI codes. Both lines also go to the Prefect run
    log at INFO. The hook for long steps is this context manager and its `Step` handle:
    `advance(n)`, `set_total(n)`, `note(label)`; flows/transform calls it per finished dbt node.
    """
    outer = _active.get(description)
    if outer is not None:
        # The same step nested (the pipeline's "dbt build" around dbt's own): one start and one end
        # line, and the inner step's counts land on the outer handle.
        yield outer
        return
    if stream is None:
        live = progress_enabled(sys.stderr)
        stream = sys.stderr if live else sys.stdout
    else:
        live = progress_enabled(stream)
    started = time.monotonic()
    _run_log(f"{description} started")
    if not live:
        _write(stream, f"lifecycle: {description} ...")
    handle = Step(description, total, stream, live)
    _active[description] = handle
    ok = False
    try:
        yield handle
        ok = True
    finally:
        _active.pop(description, None)
        handle._stop()
        elapsed = time.monotonic() - started
        if handle.total:
            done = f"{handle.completed}/{handle.total} in {elapsed:.1f}s"
        elif handle.completed:
            done = f"{handle.completed} in {elapsed:.1f}s"
        else:  # a step that counts nothing says so by giving no count ("0" read as "nothing done")
            done = f"{elapsed:.1f}s"
        status = "done" if ok else "failed"
        _write(stream, f"lifecycle: {description} {status} ({done})")
        _run_log(f"{description} {status} ({done})")


# Steps running now, by description, so a nested step of the same name reuses the outer one.
_active: dict[str, Step] = {}


class _NoTracebackFormatter:
    """Formats a record as its inner formatter would, minus the stack trace (restored afterwards,
    so the Prefect API handler still ships the full trace to the UI)."""

    def __init__(self, inner) -> None:  # noqa: ANN001 - logging.Formatter | None
        import logging

        self.inner = inner or logging.Formatter()

    def format(self, record) -> str:  # noqa: ANN001 - logging.LogRecord
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved

    def __getattr__(self, name: str):  # noqa: ANN204 - delegate everything else
        return getattr(self.inner, name)


def quiet_tracebacks(debug: bool) -> None:
    """Prefect prints a failed run's traceback on the console; users get one line unless `--debug`.

    Only console (stream) handlers change; the API log handler keeps full traces for the Prefect UI.
    """
    import logging

    if debug:
        return
    import prefect.main  # noqa: F401 - configures Prefect's logging handlers

    loggers = [logging.getLogger()] + [
        logging.getLogger(n) for n in list(logging.root.manager.loggerDict) if n.startswith("prefect")
    ]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            console = isinstance(handler, logging.StreamHandler) and "API" not in type(handler).__name__
            if console and not isinstance(handler.formatter, _NoTracebackFormatter):
                handler.setFormatter(_NoTracebackFormatter(handler.formatter))
