"""Vectorised JSON encoding of polars frames, with absent (not null) optional fields.

Real feeds omit keys rather than send nulls (a Segment page has no `event`, a SendGrid `open` has no
`url`), and a missing key is exactly what the dirt injector produces for "missing required field". So
records are built as raw JSON strings from expressions: runs of always-present fields are encoded in
one `struct.json_encode()` pass, optional fields become a fragment only when not null, and nested
objects are themselves raw JSON built the same way. Everything stays in polars (Rust); no Python loop
touches a record.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class F:
    """One JSON field: `raw` means `expr` is already JSON text (a nested object built with `obj`)."""

    name: str
    expr: pl.Expr
    optional: bool = False
    raw: bool = False


def _strip_braces(e: pl.Expr) -> pl.Expr:
    return e.str.strip_prefix("{").str.strip_suffix("}")


def obj(*fields: F) -> pl.Expr:
    """A JSON object expression; optional fields whose value is null are left out entirely."""
    frags: list[pl.Expr] = []
    run: list[F] = []

    def flush() -> None:
        if run:
            struct = pl.struct(*[f.expr.alias(f.name) for f in run])
            frags.append(_strip_braces(struct.struct.json_encode()))
            run.clear()

    for f in fields:
        if f.raw:
            flush()
            frag = pl.concat_str([pl.lit(f'"{f.name}":'), f.expr])
            frags.append(pl.when(f.expr.is_not_null()).then(frag) if f.optional else frag)
        elif f.optional:
            flush()
            frag = _strip_braces(pl.struct(f.expr.alias(f.name)).struct.json_encode())
            frags.append(pl.when(f.expr.is_not_null()).then(frag))
        else:
            run.append(f)
    flush()
    return pl.concat_str([pl.lit("{"), pl.concat_str(frags, separator=",", ignore_nulls=True), pl.lit("}")])


def optional_obj(present: pl.Expr, *fields: F) -> pl.Expr:
    """A nested object that exists only where `present` holds (else null, so its key is omitted)."""
    return pl.when(present).then(obj(*fields))
