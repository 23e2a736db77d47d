"""Destinations an audience is delivered to (SPEC section 8): `file`, `http`, `ads_audience`.

Each destination turns a segment's audience into an export frame (its record key plus the columns it
sends) and delivers a `Diff` of it. It reports back exactly which records it confirmed, so sync
state only moves forward for what really arrived.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl


@dataclass
class DeliveryResult:
    """What a destination confirmed for one (destination, segment) diff."""

    status: str  # ok | partial | failed | skipped
    upserted: pl.DataFrame | None = None  # rows of Diff.current (record_key, record_hash, record)
    removed_keys: list[str] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    failures: int = 0
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
