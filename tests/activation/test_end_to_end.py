"""The default segments.yml on a real generated + ingested + dbt-built warehouse."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil

import pytest

from flows.activation.config import load_config
from flows.activation.destinations.ads import normalise_email
from flows.activation.holdouts import TREATED, assign_group
from flows.settings import Settings
from flows.warehouse import fetch_all, open_warehouse
from tests.activation.mini_warehouse import sync

DEFAULT_SEGMENTS = ["win_back", "upsell", "cross_sell", "nurture_leads", "vip", "onboarding"]


def latest_ids(settings: Settings, segment: str) -> set[str]:
    with open(settings.outbound_dir / "file" / segment / "latest.csv", newline="") as fh:
        return {row["person_id"] for row in csv.DictReader(fh)}


@pytest.mark.slow
def test_default_segments_on_a_real_build_and_a_second_run_with_new_data(built_warehouse, tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    settings.root.mkdir(parents=True)
    shutil.copy(built_warehouse.warehouse_path, settings.warehouse_path)  # never write the shared one

    first = sync(settings)
    assert {seg for seg, _ in first} == set(DEFAULT_SEGMENTS)
    assert {r["status"] for r in first.values()} <= {"ok", "skipped"}
    for segment in DEFAULT_SEGMENTS:
        seg_dir = settings.outbound_dir / "file" / segment
        manifest = json.loads((seg_dir / "manifest.json").read_text())
        assert manifest["row_counts"]["latest"] == first[(segment, "file")]["rows"]
        for fname, meta in manifest["files"].items():
            assert hashlib.sha256((seg_dir / fname).read_bytes()).hexdigest() == meta["sha256"]
    for segment in ("win_back", "nurture_leads", "upsell", "cross_sell"):
        assert first[(segment, "file")]["rows"] > 0, segment

    with open_warehouse(settings, read_only=True) as con:
        suppressed = {
            normalise_email(r[0])
            for r in fetch_all(con, "select email from intermediate.int_email_suppressions")
        }
        owned = set(fetch_all(con, "select distinct person_id, product_id from marts.fct_order_items"))
        upsell = fetch_all(con, "select person_id, recommended_product_id from marts.mart_upsell_candidates")
        cross = fetch_all(
            con, "select person_id, recommended_product_id from marts.mart_cross_sell_candidates"
        )
        at_risk = {
            r[0]
            for r in fetch_all(
                con, "select person_id from marts.dim_persons where lifecycle_stage = 'at_risk'"
            )
        }
    assert suppressed, "the demo data should exercise suppression"
    for segment in DEFAULT_SEGMENTS:
        with open(settings.outbound_dir / "file" / segment / "latest.csv", newline="") as fh:
            emails = {normalise_email(r["email"]) for r in csv.DictReader(fh)}
        assert not emails & suppressed, segment
    assert not {(p, r) for p, r in upsell + cross} & owned  # never recommend what they own
    assert latest_ids(settings, "win_back") <= at_risk

    # New data: two more customers lapse into at_risk, and one win_back member unsubscribes.
    # win_back holds a share of its audience out (segments.yml `holdout`): the two who lapse are
    # persons its holdout would send to, or they would rightly not be added (which of them is held out
    # depends on the generated ids, and so on the day the data is generated for).
    share = next(s.holdout for s in load_config(settings.segments_file).segments if s.name == "win_back")
    with open_warehouse(settings) as con:
        candidates = fetch_all(
            con,
            "select person_id from marts.dim_persons where lifecycle_stage = 'conversion' "
            "and email is not null and not is_email_suppressed order by person_id",
        )
        lapsing = [
            pid
            for (pid,) in candidates
            if assign_group(pid, "win_back", settings.holdout_salt, share or 0.0) == TREATED
        ][:2]
        assert len(lapsing) == 2
        leaver = sorted(latest_ids(settings, "win_back"))[0]
        con.execute(
            "update marts.dim_persons set lifecycle_stage = 'at_risk' where person_id in (?, ?)", lapsing
        )
        con.execute(
            "insert into intermediate.int_email_suppressions (email) "
            "select email from marts.dim_persons where person_id = ?",
            [leaver],
        )
    before = latest_ids(settings, "win_back")
    second = sync(settings)
    row = second[("win_back", "file")]
    assert (row["adds"], row["removes"], row["changes"]) == (2, 1, 0)
    assert latest_ids(settings, "win_back") == (before | set(lapsing)) - {leaver}
    seg_dir = settings.outbound_dir / "file" / "win_back"
    with open(seg_dir / "adds.csv", newline="") as fh:
        assert {r["person_id"] for r in csv.DictReader(fh)} == set(lapsing)
    with open(seg_dir / "removes.csv", newline="") as fh:
        assert [r["person_id"] for r in csv.DictReader(fh)] == [leaver]
    assert second[("win_back", "ads_audience")]["removes"] == 1
    untouched = [s for s in DEFAULT_SEGMENTS if s not in ("win_back",)]
    for segment in untouched:
        r = second[(segment, "file")]
        assert (r["adds"], r["changes"]) == (0, 0), segment
