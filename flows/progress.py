"""Progress display for long steps (generation, ingest of many files, dbt nodes).

Why a module of its own: every long step should show progress the same way, and CI logs must not
fill with redraws. A live bar is drawn only when stderr is a terminal and `CI` is not set;
otherwise a step logs one start line and one end line, nothing in between.
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


@contextlib.contextmanager
def step(description: str, total: int | None = None, stream: TextIO | None = None) -> Iterator[Step]:
    """Show progress for one long step; quiet mode prints only start and end lines (to stderr)."""
    stream = stream or sys.stderr
    live = progress_enabled(stream)
    started = time.monotonic()
    if not live:
        print(f"lifecycle: {description} ...", file=stream, flush=True)
    handle = Step(description, total, stream, live)
    ok = False
    try:
        yield handle
        ok = True
    finally:
        handle._stop()
        elapsed = time.monotonic() - started
        done = f"{handle.completed}/{handle.total}" if handle.total else f"{handle.completed}"
        status = "done" if ok else "failed"
        print(f"lifecycle: {description} {status} ({done} in {elapsed:.1f}s)", file=stream, flush=True)


class _DropTracebacks:
    """Logging filter: keep the message, drop the stack trace (SPEC 2: traces only with --debug)."""

    def filter(self, record) -> bool:  # noqa: ANN001 - logging.LogRecord
        record.exc_info = None
        record.exc_text = None
        return True


def quiet_tracebacks(debug: bool) -> None:
    """Prefect logs a failed task's traceback at ERROR; users get one line unless `--debug`."""
    import logging

    if debug:
        return
    names = [n for n in logging.root.manager.loggerDict if n == "prefect" or n.startswith("prefect.")]
    for name in names:
        for handler in getattr(logging.getLogger(name), "handlers", []):
            if not any(isinstance(f, _DropTracebacks) for f in handler.filters):
                handler.addFilter(_DropTracebacks())
