"""Re-entrant wrapper around `flows.warehouse.run_lock` for the pipeline's own call paths.

Why: `lifecycle run` takes the warehouse lock once for the whole run, and the steps it calls
(`dbt_build_flow`, publish) also take it when run on their own (`lifecycle build`). An flock held
twice by one process through two file descriptors would refuse the second, so nested holders in
the same process just count up instead.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from flows.settings import Settings
from flows.warehouse import run_lock

_held: dict[str, int] = {}
_mutex = threading.Lock()


@contextlib.contextmanager
def warehouse_guard(settings: Settings, wait: bool = False) -> Iterator[None]:
    """Hold the data dir's run lock; a nested call in the same process is a no-op."""
    key = str(settings.root)
    with _mutex:
        nested = _held.get(key, 0) > 0
        if nested:
            _held[key] += 1
    if nested:
        try:
            yield
        finally:
            with _mutex:
                _held[key] -= 1
        return
    with run_lock(settings, wait=wait):
        with _mutex:
            _held[key] = 1
        try:
            yield
        finally:
            with _mutex:
                _held.pop(key, None)


def is_held(settings: Settings) -> bool:
    return _held.get(str(settings.root), 0) > 0
