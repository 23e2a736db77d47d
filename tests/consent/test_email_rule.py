"""One canonical email rule: the same edge cases through the Python scalar, polars and the DuckDB
SQL emitter give the same answers (flows/email_rule.py)."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from flows.email_rule import match_key, match_key_expr, match_key_sql, normalize_email

CASES = [
    "Jane.Doe@Example.COM",
    "  jane@example.com ",
    "jane@example.com.",
    "jane+news@example.com",
    "J.Doe+x@GoogleMail.com",
    "j.doe@gmail.com",
    "jöhn@bücher.de",
    "user@xn--bcher-kva.de",
    "not-an-email",
    "@example.com",
    "a@b@c.com",
    "",
    None,
]


@pytest.mark.parametrize("value", CASES)
def test_every_layer_gives_the_same_match_key(value):
    scalar = match_key(value)
    frame = pl.DataFrame({"e": [value]}, schema={"e": pl.Utf8})
    polars_key = frame.select(match_key_expr(pl.col("e")))[0, 0]
    con = duckdb.connect()
    query = f"select {match_key_sql('e')} from (select ?::varchar as e)"
    sql_key = con.execute(query, [value]).fetchall()[0][0]
    assert scalar == polars_key == sql_key


def test_invalid_strings_have_no_key():
    for value in ("not-an-email", "@example.com", "", None):
        assert normalize_email(value) is None
        assert match_key(value) is None


def test_case_and_spaces_fold_plus_tags_kept_gmail_dots_dropped():
    assert match_key("  Jane.Doe@Example.COM ") == "jane.doe@example.com"
    assert match_key("jane+news@example.com") == "jane+news@example.com"
    assert match_key("J.Doe+x@GoogleMail.com") == "jdoe+x@googlemail.com"
    assert match_key("jane@example.com.") is None
