"""Things decided now that happen on a later day (an email click in three days, a refund next week).

The simulation walks forward one day at a time; consequences land in a per-day bucket and are
popped when the walk reaches that day. Columns are numpy arrays, so buckets cost per batch, not per
record.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np


class DaySchedule:
    def __init__(self, days: int) -> None:
        self.days = days
        self._buckets: dict[int, list[dict[str, np.ndarray]]] = defaultdict(list)

    def add(self, day: np.ndarray, **cols: np.ndarray) -> None:
        """File each row under its day; rows at or past the end of the window are dropped."""
        day = np.asarray(day)
        keep = (day >= 0) & (day < self.days)
        if not keep.any():
            return
        day = day[keep]
        cols = {k: np.asarray(v)[keep] for k, v in cols.items()}
        order = np.argsort(day, kind="stable")
        day = day[order]
        cols = {k: v[order] for k, v in cols.items()}
        uniq, starts = np.unique(day, return_index=True)
        bounds = list(starts[1:]) + [len(day)]
        for d, a, b in zip(uniq.tolist(), starts.tolist(), bounds, strict=True):
            self._buckets[d].append({k: v[a:b] for k, v in cols.items()})

    def pop(self, day: int) -> dict[str, np.ndarray] | None:
        parts = self._buckets.pop(day, None)
        if not parts:
            return None
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
