"""Random identifiers and timestamp text, generated for whole arrays at once.

IDs come from the seeded generator (never uuid4/os.urandom), so the same seed gives byte-identical
files. Bytes are turned into hex/base64 text by polars, not by a Python loop per record.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

ISO_MS = "%Y-%m-%dT%H:%M:%S%.3fZ"
ISO_S = "%Y-%m-%dT%H:%M:%SZ"


def _random_binary(rng: np.random.Generator, n: int, nbytes: int) -> pl.Series:
    buf = pa.py_buffer(rng.bytes(nbytes * n))
    arr = pa.Array.from_buffers(pa.binary(nbytes), n, [None, buf])
    return pl.Series(pl.from_arrow(arr)).cast(pl.Binary)


def random_hex(rng: np.random.Generator, n: int, nbytes: int) -> pl.Series:
    """`n` lower-case hex strings of `2 * nbytes` characters."""
    return _random_binary(rng, n, nbytes).bin.encode("hex")


def random_uuid(rng: np.random.Generator, n: int) -> pl.Series:
    """Version-4-shaped UUID strings (the form analytics.js uses for messageId and anonymousId)."""
    h = pl.DataFrame({"h": random_hex(rng, n, 16)})
    c = pl.col("h")
    return h.select(
        pl.concat_str(
            [
                c.str.slice(0, 8),
                c.str.slice(8, 4),
                pl.lit("4") + c.str.slice(13, 3),
                pl.lit("a") + c.str.slice(17, 3),
                c.str.slice(20, 12),
            ],
            separator="-",
        )
    ).to_series()


def random_b64(rng: np.random.Generator, n: int) -> pl.Series:
    """URL-safe base64 of 16 random bytes, the shape of SendGrid's `sg_event_id`."""
    s = _random_binary(rng, n, 16).bin.encode("base64")
    return s.str.replace_all("+", "-", literal=True).str.replace_all("/", "_", literal=True)


def iso(ms: pl.Expr, fmt: str = ISO_MS) -> pl.Expr:
    """Epoch milliseconds -> ISO-8601 UTC text with a trailing Z."""
    return pl.from_epoch(ms, time_unit="ms").dt.strftime(fmt)


def strings(values: np.ndarray) -> pl.Series:
    """A polars String series from a numpy object/str array that may hold None."""
    return pl.Series(np.asarray(values, dtype=object).tolist(), dtype=pl.String)
