"""The `ads_audience` destination: hashed identifiers only (SPEC section 8).

Ad platforms match on SHA-256 of a normalised identifier, so normalisation decides the match rate:
- email: trimmed, lower-cased, dots removed from the local part for gmail.com and googlemail.com
  (Gmail ignores them); plus tags are kept, as SPEC says;
- phone: E.164 (`+` and 8-15 digits). `00` becomes `+`; a number without an international prefix is
  only usable with the destination's `default_country_code` (its trunk `0` dropped), else left out.
Normalisation is vectorised polars, hashing is DuckDB's sha256: no per-row Python. The files are the
same atomic set as the `file` destination, with no plain personal data and no person_id (which can be
an email address).
"""

from __future__ import annotations

import duckdb
import polars as pl

from flows.activation.state import KEY, query_frame
from flows.email_rule import match_key_expr

ADS_COLUMNS = ["email_sha256", "phone_sha256"]
PHONE_CHARS_RE = r"^\+?[0-9 ().\-/]+$"
E164_RE = r"^\+[1-9][0-9]{7,14}$"


def normalise_email_expr(col: pl.Expr) -> pl.Expr:
    """The canonical match key (flows/email_rule.py), the one rule suppression and identity use."""
    return match_key_expr(col)


def normalise_phone_expr(col: pl.Expr, default_country_code: str | None = None) -> pl.Expr:
    s = col.cast(pl.Utf8).str.strip_chars()
    digits = s.str.replace_all(r"[^0-9]", "")
    if default_country_code:
        national = pl.concat_str([pl.lit("+" + default_country_code), digits.str.strip_chars_start("0")])
    else:
        national = pl.lit(None, dtype=pl.Utf8)
    e164 = (
        pl.when(s.str.starts_with("+"))
        .then(pl.concat_str([pl.lit("+"), digits]))
        .when(s.str.starts_with("00"))
        .then(pl.concat_str([pl.lit("+"), digits.str.slice(2)]))
        .otherwise(national)
    )
    return pl.when(s.str.contains(PHONE_CHARS_RE) & e164.str.contains(E164_RE)).then(e164).otherwise(None)


def normalise_email(value: str | None) -> str | None:
    """Scalar form of the same expression (tests, one-off checks)."""
    return pl.select(normalise_email_expr(pl.lit(value, dtype=pl.Utf8))).item()


def normalise_phone(value: str | None, default_country_code: str | None = None) -> str | None:
    return pl.select(normalise_phone_expr(pl.lit(value, dtype=pl.Utf8), default_country_code)).item()


def sha256_column(frame: pl.DataFrame, column: str) -> pl.Series:
    """Hex SHA-256 of a text column, NULL kept NULL (DuckDB, set-based)."""
    con = duckdb.connect()
    try:
        con.register("__values", frame.select(pl.col(column).alias("v")))
        out = query_frame(con, "select sha256(v) as h from __values")
    finally:
        con.close()
    return out["h"].alias(column)


def ads_export(audience: pl.DataFrame, default_country_code: str | None = None) -> pl.DataFrame:
    """record_key plus hashed identifiers; rows with neither identifier are left out."""
    normalised = audience.select(
        pl.col("person_id").cast(pl.Utf8).alias(KEY),
        normalise_email_expr(pl.col("email")).alias("email_sha256"),
        # dim_persons.phone_e164 (int_persons_contact_details) when present, else the raw phone.
        pl.coalesce(
            (pl.col("phone_e164") if "phone_e164" in audience.columns else pl.lit(None, dtype=pl.Utf8)),
            normalise_phone_expr(pl.col("phone"), default_country_code),
        ).alias("phone_sha256"),
    )
    hashed = normalised.with_columns(
        sha256_column(normalised, "email_sha256"), sha256_column(normalised, "phone_sha256")
    )
    return hashed.filter(pl.col("email_sha256").is_not_null() | pl.col("phone_sha256").is_not_null())
