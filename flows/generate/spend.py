"""Marketing spend for the paid channels, one CSV per month, and the erasure requests file.

Spend follows the paid landing visits the simulation produced (cost per visit times a little daily
noise), so CAC in the marts reflects the traffic those channels actually bought.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from flows.generate.ids import ISO_S, iso, strings
from flows.generate.population import CHANNELS, Population
from flows.generate.writers import atomic_write

SPEND_HEADER = ("date", "source", "medium", "campaign", "spend", "currency")


class SpendLedger:
    def __init__(self) -> None:
        self._days: list[pl.DataFrame] = []

    def add(self, d: int, channel: np.ndarray, campaign: np.ndarray) -> None:
        """Count today's paid landing sessions per (channel, campaign)."""
        paid = np.isin(channel, [i for i, c in enumerate(CHANNELS) if c.paid])
        if not paid.any():
            return
        df = pl.DataFrame({"channel": channel[paid], "campaign": strings(campaign[paid])})
        self._days.append(df.group_by("channel", "campaign").len().with_columns(d=pl.lit(d)))

    def write(self, root: Path, start: date, rng: np.random.Generator) -> tuple[int, int]:
        if not self._days:
            return 0, 0
        df = pl.concat(self._days).sort("d", "channel", "campaign")
        cost = np.array([c.cost_per_visit for c in CHANNELS])[df["channel"].to_numpy()]
        noise = rng.lognormal(0.0, 0.15, df.height)
        df = df.with_columns(
            date=pl.Series([start + timedelta(days=int(k)) for k in range(int(df["d"].max()) + 1)]).gather(
                df["d"]
            ),
            source=pl.Series([c.source for c in CHANNELS]).gather(df["channel"]),
            medium=pl.Series([c.medium for c in CHANNELS]).gather(df["channel"]),
            spend=pl.Series(np.round(df["len"].to_numpy() * cost * noise, 2)),
            currency=pl.lit("USD"),
        ).select(*SPEND_HEADER)
        files = 0
        for (month,), part in df.group_by(pl.col("date").dt.strftime("%Y-%m"), maintain_order=True):
            atomic_write(root / f"{month}.csv", part.write_csv(float_precision=2).encode())
            files += 1
        return files, df.height


def write_erasure(
    root: Path, pop: Population, lead_day: np.ndarray, end_ms: int, rng: np.random.Generator
) -> int:
    """A handful of leads ask to be forgotten near the end of the window."""
    leads = np.flatnonzero(lead_day >= 0)
    k = int(min(len(leads), max(3, min(10, len(leads) // 300))))
    who = np.sort(rng.choice(leads, size=k, replace=False)) if k else np.zeros(0, dtype=np.int64)
    at = end_ms - rng.integers(86_400_000, 20 * 86_400_000, k)
    df = pl.DataFrame({"email": pop.email.gather(who), "ms": at}).select(
        "email", requested_at=iso(pl.col("ms"), ISO_S)
    )
    atomic_write(root / "requests.csv", df.write_csv().encode())
    return k
