"""Audiences: suppression can never be bypassed by a segment definition; one row per person."""

from __future__ import annotations

import random
from datetime import datetime

import polars as pl
import pytest

from flows.activation.audiences import compute_audiences
from flows.activation.config import ConfigError
from flows.activation.destinations.ads import normalise_email
from flows.warehouse import open_warehouse
from tests.activation.mini_warehouse import person, write_warehouse

UPSELL_YML = """
destinations:
  file: {type: file}
segments:
  - name: upsell
    description: upsell
    model: mart_upsell_candidates
    fields: [person_id, email, recommended_product_id]
    destinations: [file]
    exclude_support_issues: true
  - name: upsell_careless
    description: same model, no support exclusion
    model: mart_upsell_candidates
    fields: [person_id, recommended_product_id]
    destinations: [file]
"""


def _variant(email: str, rng: random.Random) -> str:
    """The same address as a careless system might store it."""
    local, domain = email.split("@")
    choice = rng.randrange(4)
    if choice == 0:
        return f"  {email.upper()} "
    if choice == 1 and domain == "gmail.com":
        return f"{local[0]}.{local[1:]}@{domain}".title()
    if choice == 2:
        return email.capitalize()
    return email


@pytest.mark.parametrize("seed", range(5))
def test_no_suppressed_address_in_any_audience_whatever_the_filter(make_settings, seed):
    """Property: random persons, random suppression sources and spellings; `filter: true` leaks none."""
    rng = random.Random(seed)
    settings = make_settings(name=f"d{seed}")
    persons, suppressed, erasures, identities, banned = [], [], [], [], set()
    for i in range(300):
        domain = rng.choice(["gmail.com", "example.com", "googlemail.com", "shop.io"])
        email = f"user{i}.x{rng.randrange(99)}@{domain}"
        source = rng.choice(["none", "none", "model", "erasure", "flag", "second_address"])
        if source == "model":
            suppressed.append(_variant(email, rng))
        elif source == "erasure":
            erasures.append(_variant(email, rng))
        elif source == "second_address":
            other = f"old{i}@example.org"
            identities.append((f"p{i}", other))
            suppressed.append(other.upper())
        row = person(f"p{i}", _variant(email, rng), is_email_suppressed=source == "flag")
        persons.append(row)
        if source != "none":
            banned.add(f"p{i}")
    persons.append(person("no_email", None))
    persons.append(person("blank_email", "  "))
    write_warehouse(settings, persons, suppressed, erasures, identities)
    with open_warehouse(settings, read_only=True) as con:
        audiences = compute_audiences(settings, con)
    banned_addresses = {normalise_email(e) for e in suppressed + erasures}
    for name, frame in audiences.items():
        ids = set(frame["person_id"].to_list())
        assert not ids & banned, f"{name} leaks suppressed persons {sorted(ids & banned)[:5]}"
        assert not {normalise_email(e) for e in frame["email"].to_list()} & banned_addresses
        assert frame["person_id"].n_unique() == frame.height
        assert {"no_email", "blank_email"}.isdisjoint(ids)
    everyone = set(audiences["everyone"]["person_id"].to_list())
    expected = {p["person_id"] for p in persons if p["person_id"] not in banned} - {"no_email", "blank_email"}
    assert everyone == expected  # suppression removes exactly the banned, nothing more


def test_model_segment_dedupes_and_applies_support_exclusions(make_settings):
    settings = make_settings(UPSELL_YML)
    persons = [
        person("ok", "ok@example.com"),
        person("ticket", "t@example.com", open_high_urgent_tickets=1),
        person("bad_csat_recent", "b@example.com", last_bad_csat_at=datetime(2026, 6, 10)),
        person("bad_csat_old", "o@example.com", last_bad_csat_at=datetime(2026, 4, 1)),
        person("unsub", "u@example.com"),
    ]
    upsell = [
        {"person_id": p, "recommended_product_id": "P102", "current_product_id": "P101"}
        for p in ["ok", "ticket", "bad_csat_recent", "bad_csat_old", "unsub"]
    ] + [{"person_id": "ok", "recommended_product_id": "P202", "current_product_id": "P201"}]
    write_warehouse(settings, persons, suppressions=["U@Example.com"], upsell=upsell)
    with open_warehouse(settings, read_only=True) as con:
        audiences = compute_audiences(settings, con)
    upsell_frame = audiences["upsell"]
    assert upsell_frame["person_id"].to_list() == ["bad_csat_old", "ok"]
    # Deterministic pick when a model has several rows per person; contact columns always present.
    assert upsell_frame.filter(pl.col("person_id") == "ok")["recommended_product_id"].item() == "P102"
    assert upsell_frame.columns == [
        "person_id",
        "email",
        "recommended_product_id",
        "phone",
        "phone_e164",
        "first_name",
        "last_name",
    ]
    careless = audiences["upsell_careless"]
    assert set(careless["person_id"]) == {"ok", "ticket", "bad_csat_recent", "bad_csat_old"}
    assert "email" in careless.columns


def test_missing_suppression_model_fails_closed(make_settings):
    settings = make_settings()
    write_warehouse(settings, [person("p1", "a@example.com")])
    with open_warehouse(settings) as con:
        con.execute("drop table intermediate.int_email_suppressions")
    with (
        open_warehouse(settings, read_only=True) as con,
        pytest.raises(ConfigError, match="cannot be applied"),
    ):
        compute_audiences(settings, con)


def test_broken_filter_names_the_segment(make_settings):
    settings = make_settings(
        """
        destinations: {file: {type: file}}
        segments:
          - name: typo
            description: a filter on a column that does not exist
            filter: "lifecycle_stag = 'x'"
            fields: [email]
            destinations: [file]
        """
    )
    write_warehouse(settings, [person("p1", "a@example.com")])
    with open_warehouse(settings, read_only=True) as con, pytest.raises(ConfigError, match="segment 'typo'"):
        compute_audiences(settings, con)


def test_one_row_per_address_even_across_persons(make_settings):
    settings = make_settings()
    write_warehouse(
        settings,
        [
            person("a", "Jane.Doe@gmail.com"),
            person("b", "janedoe@gmail.com "),
            person("c", "other@example.com"),
        ],
    )
    with open_warehouse(settings, read_only=True) as con:
        frame = compute_audiences(settings, con, ["everyone"])["everyone"]
    assert frame["person_id"].to_list() == ["a", "c"]
