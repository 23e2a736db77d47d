"""The one canonical email rule (SPEC sections 5, 8 and 10), in every form the product needs.

Identity (dbt macro `normalize_email` in dbt_project/macros/identity.sql), suppression
(flows/activation/suppression.py), lead status (through the consent models, which use the dbt
macros) and every hashing destination must agree on what "the same address" is. This module is the
definition; the dbt macros carry the same pattern text, and tests/consent/test_email_rule.py feeds one
table of edge cases through every layer (Python scalar, polars, the SQL emitted here, the dbt macro
compiled and run in DuckDB, and in PostgreSQL when available) and checks the answers are identical.

Two levels:
- `normalize_email`: the address as an identifier. Whitespace (space, tab, CR, LF, FF, VT) trimmed at
  both ends, lower-cased, and valid: exactly one `@`, a non-empty local part, a domain of at least two
  dot-separated non-empty labels (so no trailing dot, no `..` in the domain), and none of whitespace or
  `<>(),;:"` anywhere. NULL, non-strings that are not text and invalid values give None.
- `match_key`: the key addresses are MATCHED on (suppression, de-duplication, ad-platform hashing):
  the normalised address with the dots removed from the local part for gmail.com and googlemail.com
  (Gmail ignores them; Google Customer Match asks for exactly this). Plus tags are KEPT (see
  DECISIONS.md "One canonical email rule"): not every provider has sub-addressing, a vendor delivers to
  and reports on the address as given, and the ad platforms hash it with the tag. googlemail.com is
  not rewritten to gmail.com, for the same hashing reason. Unicode is kept as lower-cased text
  (IDN domains are not converted to punycode): `Jörg@Bücher.de` and `jörg@xn--bcher-kva.de` are two
  different keys.

The configurable `blocked_identity_values` list is an identity guard rail applied on top of this rule
by the dbt macro only (it stops bad values from merging persons); suppression never drops a blocked
address, it fails closed.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

GMAIL_DOMAINS: tuple[str, ...] = ("gmail.com", "googlemail.com")

#: Characters trimmed at both ends (explicit, so every regex engine means the same set).
WHITESPACE_CLASS = r" \t\n\r\f\v"
#: Characters never allowed in an address (besides a second `@`).
_FORBIDDEN = WHITESPACE_CLASS + r'<>(),;:"'
#: The validity pattern, anchored. Written in the common subset of Python re, RE2 (DuckDB), Rust
#: regex (polars) and PostgreSQL AREs; the dbt macros hold this exact text (a test checks it).
EMAIL_PATTERN = rf"^[^@{_FORBIDDEN}]+@[^@{_FORBIDDEN}.]+(\.[^@{_FORBIDDEN}.]+)+$"
#: Leading or trailing whitespace, for regexp_replace with the global flag.
TRIM_PATTERN = rf"^[{WHITESPACE_CLASS}]+|[{WHITESPACE_CLASS}]+$"

_EMAIL_RE = re.compile(EMAIL_PATTERN)


def normalize_email(value: Any) -> str | None:
    """Trimmed, lower-cased address, or None when NULL or invalid."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    text = text.strip(" \t\n\r\f\v").lower()
    return text if _EMAIL_RE.match(text) else None


def match_key(value: Any) -> str | None:
    """The normalised address with gmail.com / googlemail.com local-part dots removed (None if invalid)."""
    email = normalize_email(value)
    if email is None:
        return None
    local, domain = email.split("@")
    if domain in GMAIL_DOMAINS:
        local = local.replace(".", "")
        if not local:
            return None
        return f"{local}@{domain}"
    return email


def normalize_email_expr(col: pl.Expr) -> pl.Expr:
    """Vectorised polars form of `normalize_email`."""
    text = col.cast(pl.Utf8).str.replace_all(TRIM_PATTERN, "").str.to_lowercase()
    return pl.when(text.str.contains(EMAIL_PATTERN)).then(text).otherwise(None)


def match_key_expr(col: pl.Expr) -> pl.Expr:
    """Vectorised polars form of `match_key`."""
    email = normalize_email_expr(col)
    local = email.str.extract(r"^([^@]*)@", 1)
    domain = email.str.extract(r"@([^@]*)$", 1)
    undotted = local.str.replace_all(".", "", literal=True)
    gmail = pl.when(undotted != "").then(pl.concat_str([undotted, pl.lit("@"), domain]))
    return pl.when(domain.is_in(list(GMAIL_DOMAINS))).then(gmail).otherwise(email)


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def normalize_email_sql(expr: str, dialect: str = "duckdb") -> str:
    """SQL for `normalize_email` of a text expression (NULL stays NULL). DuckDB, or `postgres`."""
    trimmed = f"lower(regexp_replace({expr}, {_sql_literal(TRIM_PATTERN)}, '', 'g'))"
    if dialect == "duckdb":
        valid = f"regexp_full_match({trimmed}, {_sql_literal(EMAIL_PATTERN)})"
    elif dialect == "postgres":
        valid = f"({trimmed}) ~ {_sql_literal(EMAIL_PATTERN)}"
    else:
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    return f"(case when {valid} then {trimmed} end)"


def match_key_sql(expr: str, dialect: str = "duckdb") -> str:
    """SQL for `match_key` of a text expression (NULL stays NULL). DuckDB, or `postgres`."""
    email = normalize_email_sql(expr, dialect)
    domain = f"split_part({email}, '@', 2)"
    domains = ", ".join(_sql_literal(d) for d in GMAIL_DOMAINS)
    return (
        f"(case when {domain} in ({domains}) "
        f"then nullif(replace(split_part({email}, '@', 1), '.', ''), '') || '@' || {domain} "
        f"else {email} end)"
    )
