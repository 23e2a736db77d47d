"""Ads identifiers: normalisation edge cases (SPEC section 8) and agreement with the SQL suppression key."""

from __future__ import annotations

import hashlib

import duckdb
import polars as pl
import pytest

from flows.activation.destinations.ads import ads_export, normalise_email, normalise_phone
from flows.activation.suppression import canonical_email_sql


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("john@example.com", "john@example.com"),
        ("  John@Example.COM \t", "john@example.com"),  # trimmed, lower-cased
        ("John.Smith@gmail.com", "johnsmith@gmail.com"),  # gmail ignores dots
        ("j.o.h.n@googlemail.com", "john@googlemail.com"),
        ("John.Smith+promo@Gmail.com", "johnsmith+promo@gmail.com"),  # plus tag kept
        ("john.smith+promo@example.com", "john.smith+promo@example.com"),  # dots kept elsewhere
        ("john.smith@gmail.com.au", "john.smith@gmail.com.au"),  # not gmail.com
        ("not-an-email", None),
        ("two@@example.com", None),
        ("", None),
        (None, None),
    ],
)
def test_email_normalisation(raw, expected):
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+1 (415) 555-0123", None, "+14155550123"),
        ("+44 7700 900123", None, "+447700900123"),
        ("0044 7700 900123", None, "+447700900123"),  # 00 international prefix
        ("07700 900123", "44", "+447700900123"),  # national, trunk 0 dropped
        ("07700 900123", None, None),  # no country: cannot be E.164, left out
        ("415.555.0123", "1", "+14155550123"),
        ("+1 415 555 0123 ext 9", None, None),  # letters: not a phone number
        ("+12", None, None),  # too short
        ("+1234567890123456", None, None),  # longer than 15 digits
        ("", None, None),
        (None, "44", None),
    ],
)
def test_phone_normalisation(raw, country, expected):
    assert normalise_phone(raw, country) == expected


def test_ads_export_hashes_normalised_values_and_drops_unmatchable_rows():
    audience = pl.DataFrame(
        {
            "person_id": ["a", "b", "c"],
            "email": [" J.Doe+x@Gmail.com", None, "bad"],
            "phone": [None, "+44 7700 900123", "n/a"],
        }
    )
    out = ads_export(audience)
    sha = lambda s: hashlib.sha256(s.encode()).hexdigest()  # noqa: E731
    assert out.to_dicts() == [
        {"record_key": "a", "email_sha256": sha("jdoe+x@gmail.com"), "phone_sha256": None},
        {"record_key": "b", "email_sha256": None, "phone_sha256": sha("+447700900123")},
    ]


@pytest.mark.parametrize(
    "raw",
    ["  John.Smith+promo@Gmail.com", "a.b@googlemail.com", "A.B@Example.com", "x@GMAIL.COM"],
)
def test_sql_suppression_key_matches_ads_normalisation(raw):
    """Suppression compares in the same canonical form the ads file hashes."""
    sql = f"select {canonical_email_sql('$1')}"
    assert duckdb.connect().execute(sql, [raw]).fetchall()[0][0] == normalise_email(raw)
