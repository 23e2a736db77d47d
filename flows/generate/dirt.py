"""Dirty records, injected at about `rate` of records for each kind, as real feeds contain them.

Kinds: redelivered duplicates (same messageId / sg_event_id, some in a later day's file), late
events (written into a file days after their timestamp), malformed lines (truncated JSON), missing
required fields, bad timestamps, invalid emails and blocked identity values. Mutating kinds hit
disjoint rows, so the counts in the summary are exact and each bad record has exactly one defect.
The year 2099 is never used: generated data stays in the past.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import polars as pl

KINDS = (
    "duplicate",
    "late",
    "malformed",
    "missing_field",
    "bad_timestamp",
    "invalid_email",
    "blocked_identity",
)
BAD_TIMESTAMPS = ("not-a-date", "2025-13-45T25:61:00Z", "yesterday")
INVALID_EMAILS = ("bob@@example", "n/a", "jane.doe@", "no-email-given")


@dataclass
class DirtCounts:
    by_source: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, source: str, kind: str, n: int) -> None:
        self.by_source.setdefault(source, Counter())[kind] += int(n)

    def total(self, source: str) -> int:
        return sum(self.by_source.get(source, Counter()).values())


class Picker:
    """Draws disjoint random row sets from a frame, one per defect kind."""

    def __init__(self, rng: np.random.Generator, n: int, rate: float) -> None:
        self.rng = rng
        self.rate = rate
        self.free = np.ones(n, dtype=bool)

    def pick(self, eligible: np.ndarray | None = None) -> np.ndarray:
        cand = self.free if eligible is None else self.free & eligible
        idx = np.flatnonzero(cand)
        k = int(self.rng.binomial(len(idx), self.rate)) if len(idx) and self.rate > 0 else 0
        chosen = np.sort(self.rng.choice(idx, size=k, replace=False)) if k else np.zeros(0, dtype=np.int64)
        self.free[chosen] = False
        return chosen


def _mask(n: int, idx: np.ndarray) -> pl.Series:
    m = np.zeros(n, dtype=bool)
    m[idx] = True
    return pl.Series(m)


def _choice(rng: np.random.Generator, values: tuple[str, ...], n: int) -> pl.Series:
    return pl.Series(np.array(values, dtype=object)[rng.integers(0, len(values), n)], dtype=pl.String)


def dirty_web_columns(df: pl.DataFrame, picker: Picker, counts: DirtCounts) -> pl.DataFrame:
    """Field-level defects on Segment rows, before encoding."""
    rng, n = picker.rng, df.height
    if n == 0 or picker.rate <= 0:
        return df
    miss = picker.pick()
    which = rng.integers(0, 3, len(miss))
    m_id, m_ts, m_who = (_mask(n, miss[which == k]) for k in range(3))
    bad_ts = picker.pick()
    has_anon = df["anonymousId"].is_not_null().to_numpy()
    has_user = df["userId"].is_not_null().to_numpy()
    blocked = picker.pick(has_anon | has_user)
    to_user = has_user[blocked] & (rng.random(len(blocked)) < 0.5)
    b_user, b_anon = _mask(n, blocked[to_user]), _mask(n, blocked[~to_user])
    is_ident = (df["type"] == "identify").to_numpy() & df["t_email"].is_not_null().to_numpy()
    bad_email = picker.pick(is_ident)
    anon_email = picker.pick(is_ident)
    counts.add("web", "missing_field", len(miss))
    counts.add("web", "bad_timestamp", len(bad_ts))
    counts.add("web", "blocked_identity", len(blocked) + len(anon_email))
    counts.add("web", "invalid_email", len(bad_email))
    fill = pl.lit(None, dtype=pl.String)
    return df.with_columns(
        messageId=pl.when(m_id).then(fill).otherwise("messageId"),
        timestamp=pl.when(m_ts)
        .then(fill)
        .when(_mask(n, bad_ts))
        .then(_choice(rng, BAD_TIMESTAMPS, n))
        .otherwise("timestamp"),
        anonymousId=pl.when(m_who).then(fill).when(b_anon).then(pl.lit("undefined")).otherwise("anonymousId"),
        userId=pl.when(m_who)
        .then(fill)
        .when(b_user)
        .then(_choice(rng, ("0", "null"), n))
        .otherwise("userId"),
        t_email=pl.when(_mask(n, bad_email))
        .then(_choice(rng, INVALID_EMAILS, n))
        .when(_mask(n, anon_email))
        .then(pl.lit("anonymous"))
        .otherwise("t_email"),
    )


def dirty_email_columns(df: pl.DataFrame, picker: Picker, counts: DirtCounts) -> pl.DataFrame:
    """Field-level defects on SendGrid rows, before encoding."""
    rng, n = picker.rng, df.height
    if n == 0 or picker.rate <= 0:
        return df
    miss = picker.pick()
    which = rng.integers(0, 3, len(miss))
    m_id, m_ts, m_event = (_mask(n, miss[which == k]) for k in range(3))
    bad_ts = picker.pick()
    bad_email = picker.pick()
    anon_email = picker.pick()
    counts.add("email", "missing_field", len(miss))
    counts.add("email", "bad_timestamp", len(bad_ts))
    counts.add("email", "invalid_email", len(bad_email))
    counts.add("email", "blocked_identity", len(anon_email))
    fill = pl.lit(None, dtype=pl.String)
    bad_ts_json = pl.concat_str([pl.lit('"'), _choice(rng, BAD_TIMESTAMPS, n), pl.lit('"')])
    return df.with_columns(
        sg_event_id=pl.when(m_id).then(fill).otherwise("sg_event_id"),
        timestamp_json=pl.when(m_ts)
        .then(fill)
        .when(_mask(n, bad_ts))
        .then(bad_ts_json)
        .otherwise("timestamp_json"),
        event=pl.when(m_event).then(fill).otherwise("event"),
        email=pl.when(_mask(n, bad_email))
        .then(_choice(rng, INVALID_EMAILS, n))
        .when(_mask(n, anon_email))
        .then(pl.lit("anonymous"))
        .otherwise("email"),
    )


def truncate_lines(lines: pl.Series, picker: Picker, counts: DirtCounts, source: str) -> pl.Series:
    """Malformed JSON: a line cut off mid-record (as when a writer dies mid-flush)."""
    idx = picker.pick()
    counts.add(source, "malformed", len(idx))
    if not len(idx):
        return lines
    picked = lines.gather(idx)
    cut = picked.str.slice(0, (picked.str.len_chars() * 0.6).cast(pl.Int64))
    return lines.clone().scatter(idx, cut)


def split_late_and_duplicates(
    lines: pl.Series, picker: Picker, counts: DirtCounts, source: str, d: int, days: int
) -> tuple[pl.Series, list[tuple[int, pl.Series]]]:
    """Move some lines to a later day's file (late) and redeliver copies of others (duplicates).

    Returns today's lines and (day, lines) pairs to carry. Only moves that land inside the window are
    counted, so the summary matches what is on disk.
    """
    rng = picker.rng
    n = len(lines)
    carry: list[tuple[int, pl.Series]] = []
    if n == 0 or picker.rate <= 0:
        return lines, carry
    late = picker.pick()
    lag = rng.integers(1, 4, len(late))
    inside = d + lag < days
    late, lag = late[inside], lag[inside]
    for k in np.unique(lag):
        carry.append((d + int(k), lines.gather(late[lag == k])))
    counts.add(source, "late", len(late))
    keep = np.ones(n, dtype=bool)
    keep[late] = False
    dup = picker.pick()  # clean rows only: a redelivery is an exact copy of a good record
    later = rng.random(len(dup)) < 0.4
    dlag = rng.integers(1, 4, len(dup))
    ok_later = later & (d + dlag < days)
    for k in np.unique(dlag[ok_later]):
        carry.append((d + int(k), lines.gather(dup[ok_later & (dlag == k)])))
    same = dup[~ok_later]
    counts.add(source, "duplicate", len(dup))
    today = lines.filter(pl.Series(keep))
    if len(same):
        today = pl.concat([today, lines.gather(same)])
    return today, carry
