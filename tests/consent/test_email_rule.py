"""One canonical email rule (issue 15 item 3): one table of edge cases, fed through EVERY layer that
decides what "the same address" is, gives the expected answers everywhere:

- the Python definition (flows/email_rule.py) and its polars and DuckDB SQL emitters;
- the dbt macros `canonical_email`, `email_match_key` and `normalize_email`, run by dbt itself
  (`dbt show --inline`) on the session's built warehouse, so the macro text is what is tested;
- activation suppression (`flows.activation.suppression.canonical_email_sql`) in DuckDB;
- the ads destination's normaliser and its SHA-256 file column (`flows.activation.destinations.ads`);
- the erasure ledger's match key (`flows.privacy.match.match_key_sql`).
"""

from __future__ import annotations

import hashlib

import duckdb
import polars as pl
import pytest

from flows.email_rule import (
    match_key,
    match_key_expr,
    match_key_sql,
    normalize_email,
    normalize_email_expr,
    normalize_email_sql,
)

# value -> (canonical address, match key). None: invalid, no key.
CASES: list[tuple[str | None, str | None, str | None]] = [
    ("Jane.Doe@Example.COM", "jane.doe@example.com", "jane.doe@example.com"),  # upper case
    ("  jane@example.com ", "jane@example.com", "jane@example.com"),  # spaces
    ("\tjane@example.com\r\n", "jane@example.com", "jane@example.com"),  # tab, CR LF
    ("jane@example.com.", None, None),  # trailing dot: invalid
    ("jane+news@example.com", "jane+news@example.com", "jane+news@example.com"),  # plus tag kept
    ("J.Doe+x@GoogleMail.com", "j.doe+x@googlemail.com", "jdoe+x@googlemail.com"),  # googlemail dots
    ("j.doe@gmail.com", "j.doe@gmail.com", "jdoe@gmail.com"),  # gmail dots
    ("JDOE@GMAIL.COM", "jdoe@gmail.com", "jdoe@gmail.com"),
    (".@gmail.com", ".@gmail.com", None),  # nothing left of the local part
    ("jöhn@Bücher.de", "jöhn@bücher.de", "jöhn@bücher.de"),  # unicode domain kept as text
    ("user@xn--bcher-kva.de", "user@xn--bcher-kva.de", "user@xn--bcher-kva.de"),  # IDN punycode
    ("ЖЕНЯ@ПОЧТА.РФ", "женя@почта.рф", "женя@почта.рф"),
    ("o'brien@x.com", "o'brien@x.com", "o'brien@x.com"),
    ("not-an-email", None, None),
    ("@example.com", None, None),
    ("jane@", None, None),
    ("a@b@c.com", None, None),
    ("a b@x.com", None, None),
    ("a@b", None, None),
    ("a@.b.com", None, None),
    ("a@b..com", None, None),
    ("John <j@x.com>", None, None),
    ("", None, None),
    (None, None, None),
]
VALUES = [c[0] for c in CASES]
IDS = [repr(v) for v in VALUES]


def _sql_literal(value: str | None) -> str:
    return "cast(null as varchar)" if value is None else "'" + value.replace("'", "''") + "'"


def _duckdb_column(expr_sql: str) -> list[str | None]:
    """Evaluate an SQL expression over column `e` of every case, in case order, in DuckDB."""
    con = duckdb.connect()
    try:
        con.execute("create table cases (i integer, e varchar)")
        con.executemany("insert into cases values (?, ?)", [[i, v] for i, v in enumerate(VALUES)])
        return [r[0] for r in con.execute(f"select {expr_sql} from cases order by i").fetchall()]
    finally:
        con.close()


@pytest.mark.parametrize(("value", "canonical", "key"), CASES, ids=IDS)
def test_python_definition_gives_the_expected_answers(value, canonical, key):
    assert normalize_email(value) == canonical
    assert match_key(value) == key


def test_polars_emitters_agree():
    frame = pl.DataFrame({"e": VALUES}, schema={"e": pl.Utf8})
    out = frame.select(normalize_email_expr(pl.col("e")).alias("c"), match_key_expr(pl.col("e")).alias("k"))
    assert out["c"].to_list() == [c[1] for c in CASES]
    assert out["k"].to_list() == [c[2] for c in CASES]


def test_duckdb_sql_emitters_agree():
    assert _duckdb_column(normalize_email_sql("e")) == [c[1] for c in CASES]
    assert _duckdb_column(match_key_sql("e")) == [c[2] for c in CASES]


def test_activation_suppression_and_erasure_ledger_use_the_rule():
    from flows.activation.suppression import canonical_email_sql
    from flows.privacy.match import match_key_sql as ledger_match_key_sql

    assert _duckdb_column(canonical_email_sql("e")) == [c[2] for c in CASES]
    assert _duckdb_column(ledger_match_key_sql("e")) == [c[2] for c in CASES]


def test_ads_destination_hashes_the_match_key():
    from flows.activation.destinations.ads import ads_export, normalise_email

    assert [normalise_email(v) for v in VALUES] == [c[2] for c in CASES]
    audience = pl.DataFrame(
        {"person_id": [f"p{i}" for i in range(len(VALUES))], "email": VALUES, "phone": [None] * len(VALUES)},
        schema={"person_id": pl.Utf8, "email": pl.Utf8, "phone": pl.Utf8},
    )
    hashed = dict(
        zip(*ads_export(audience).select("record_key", "email_sha256").to_dict().values(), strict=True)
    )
    expected = {f"p{i}": hashlib.sha256(k.encode()).hexdigest() for i, (_, _, k) in enumerate(CASES) if k}
    assert hashed == expected  # rows without a valid address (and no phone) are left out


def test_dbt_macros_give_the_same_answers(built_warehouse):
    """The dbt macros themselves, compiled and run by dbt (`dbt show --inline`) in DuckDB."""
    from flows.transform.dbt import run_dbt

    rows = ",\n".join(f"({i}, {_sql_literal(v)})" for i, v in enumerate(VALUES))
    inline = (
        "select i, {{ lifecycle.canonical_email('e') }} as canonical, "
        "{{ lifecycle.email_match_key('e') }} as match_key, "
        "{{ lifecycle.normalize_email('e') }} as identity_email "
        f"from (values {rows}) as cases(i, e) order by i"
    )
    result = run_dbt(built_warehouse, ["show", "--inline", inline, "--limit", str(len(VALUES) + 1)])
    table = result.result.results[0].agate_table
    got = {int(r["i"]): (r["canonical"], r["match_key"], r["identity_email"]) for r in table.rows}
    assert [got[i][0] for i in range(len(VALUES))] == [c[1] for c in CASES]
    assert [got[i][1] for i in range(len(VALUES))] == [c[2] for c in CASES]
    # identity uses the canonical address (blocked identity values aside: none of these is blocked)
    assert [got[i][2] for i in range(len(VALUES))] == [c[1] for c in CASES]


def test_dbt_macro_patterns_are_the_python_patterns():
    from flows.email_rule import EMAIL_PATTERN, TRIM_PATTERN
    from flows.settings import DBT_PROJECT_DIR

    macros = (DBT_PROJECT_DIR / "macros" / "identity.sql").read_text()
    assert f"'{EMAIL_PATTERN}'" in macros
    assert f"'{TRIM_PATTERN}'" in macros
