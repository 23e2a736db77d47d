"""segments.yml validation: every mistake is one clear error naming the segment and the bad value."""

from __future__ import annotations

import pytest
import yaml

from flows.activation.config import ConfigError, load_config, parse_config, validate_fields
from flows.settings import REPO_ROOT
from flows.warehouse import open_warehouse
from tests.activation.mini_warehouse import person, write_warehouse

BASE = {
    "destinations": {"file": {"type": "file"}},
    "segments": [
        {
            "name": "win_back",
            "description": "d",
            "filter": "lifecycle_stage = 'at_risk'",
            "fields": ["email"],
            "destinations": ["file"],
        }
    ],
}


def with_segment(**changes):
    doc = yaml.safe_load(yaml.safe_dump(BASE))
    doc["segments"][0].update(changes)
    return doc


def test_default_segments_file_has_the_spec_defaults():
    config = load_config(REPO_ROOT / "segments.yml")
    names = [s.name for s in config.segments]
    assert names == ["win_back", "upsell", "cross_sell", "nurture_leads", "vip", "onboarding"]
    assert config.segment("upsell").exclude_support_issues
    assert config.segment("cross_sell").exclude_support_issues
    assert "recommended_product_id" in config.segment("upsell").fields
    # Runs on the demo without network: every http destination is optional.
    assert all(d.optional for d in config.destinations.values() if d.type == "http")


def test_person_id_is_always_the_first_exported_field():
    config = parse_config(with_segment(fields=["email", "person_id", "name"]))
    assert config.segments[0].fields == ["person_id", "email", "name"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Win Back"}, "bad segment name 'Win Back'"),
        ({"name": "1st"}, "bad segment name"),
        ({"destinations": ["file", "mailchimp"]}, "unknown destination(s) ['mailchimp']"),
        ({"destinations": []}, "at least one destination"),
        ({"model": "mart_x"}, "exactly one of `model` or `filter`"),
        ({"filter": None}, "exactly one of `model` or `filter`"),
        ({"filter": "true; drop table marts.dim_persons"}, "no ';'"),
        ({"fields": ["email", "e-mail"]}, "bad field name(s) ['e-mail']"),
        ({"fields": []}, "at least one column"),
        ({"fields": ["email", "record_hash"]}, "reserved for sync state"),
        ({"feilds": ["email"]}, "unknown key 'feilds' (did you mean 'fields'?)"),
        ({"model": "marts.x; --", "filter": None}, "bad model name"),
    ],
)
def test_invalid_segment_is_a_clear_error(changes, message):
    with pytest.raises(ConfigError) as err:
        parse_config(with_segment(**changes))
    text = str(err.value)
    assert message in text
    assert "segments.yml: segment" in text


def test_duplicate_segment_and_bad_destination():
    doc = with_segment()
    doc["segments"].append(doc["segments"][0])
    with pytest.raises(ConfigError, match="declared twice"):
        parse_config(doc)
    doc = with_segment()
    doc["destinations"]["crm"] = {"type": "http", "token_env": "X"}
    with pytest.raises(ConfigError, match="destination 'crm'.*needs url_env or url_secret"):
        parse_config(doc)
    doc = with_segment()
    doc["destinations"]["crm"] = {"type": "sms"}
    with pytest.raises(ConfigError, match="destination 'crm': type"):
        parse_config(doc)


def test_yaml_and_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="segments file not found"):
        load_config(tmp_path / "missing.yml")
    bad = tmp_path / "segments.yml"
    bad.write_text("segments: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("segmentz: []\n")
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(bad)


def test_unknown_field_and_model_checked_against_the_warehouse(make_settings):
    settings = make_settings()
    write_warehouse(settings, [person("p1", "a@example.com")])
    good = parse_config(with_segment(fields=["email", "net_revenue"]))
    unknown = parse_config(with_segment(fields=["email", "favourite_colour"]))
    no_model = parse_config(with_segment(filter=None, model="mart_does_not_exist"))
    with open_warehouse(settings) as con:
        validate_fields(con, good.segments)
        with pytest.raises(ConfigError) as err:
            validate_fields(con, unknown.segments)
        assert "segment 'win_back': unknown field(s) ['favourite_colour']" in str(err.value)
        assert "available:" in str(err.value)
        with pytest.raises(ConfigError, match="model marts.mart_does_not_exist does not exist"):
            validate_fields(con, no_model.segments)


def test_select_unknown_segment():
    config = parse_config(BASE)
    with pytest.raises(ConfigError, match="unknown segment 'nope'"):
        config.select(["nope"])
