"""`lifecycle person show|export` as an analytics engineer and a privacy officer use them (issue 15
item 5), on the session's built warehouse (`built_warehouse`: 600 generated persons). The commands
run through `flows.cli.main` exactly as the console script does; they open the warehouse read-only
and need no Prefect server.
"""

from __future__ import annotations

import json
import stat
import sys

import duckdb
import pytest

from flows.cli import main


def _query(settings, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _run(settings, *argv: str) -> int:
    return main(["--data-dir", str(settings.root), *argv])


@pytest.fixture(scope="module")
def merged_person(built_warehouse):
    """A person with several identifiers, a stage history and an email: the most merged one."""
    rows = _query(
        built_warehouse,
        """
        select p.person_id, p.email, count(*) as identifiers
        from marts.dim_persons as p
        inner join intermediate.int_identity_map as m using (person_id)
        where p.email is not null
        group by p.person_id, p.email
        order by identifiers desc, p.person_id
        limit 1
        """,
    )
    assert rows and rows[0][2] >= 3
    return rows[0]


def test_show_explains_identifiers_stage_lead_score_and_segments(built_warehouse, merged_person, capsys):
    person_id, email, _ = merged_person
    assert _run(built_warehouse, "person", "show", f"  {email.upper()} ") == 0  # the one email rule
    out = capsys.readouterr().out
    assert out.startswith(f"Person {person_id}\n")
    for identifier_type, value in _query(
        built_warehouse,
        "select identifier_type, identifier_value from intermediate.int_identity_map where person_id = ?",
        [person_id],
    ):
        assert f"{identifier_type:<16} {value}" in out
    assert "Linked by:\n  web: " in out  # the Segment messages that joined them
    transitions = _query(
        built_warehouse,
        "select to_stage from marts.fct_lifecycle_transitions where person_id = ? order by transition_number",
        [person_id],
    )
    arrows = [line for line in out.splitlines() if " -> " in line]
    assert [line.split(" -> ")[1].split()[0] for line in arrows] == [t[0] for t in transitions]
    (score,) = _query(
        built_warehouse, "select lead_score from marts.dim_persons where person_id = ?", [person_id]
    )[0]
    lead_line = next(line for line in out.splitlines() if line.startswith("Lead: "))
    parts = [int(p.rsplit(" ", 1)[1]) for p in lead_line.split(" = ", 1)[1].split(" + ")]
    assert sum(parts) == score and f"score {score} = " in lead_line


def test_show_segments_agree_with_the_audiences_sync_computes(built_warehouse, merged_person, capsys):
    """Every default segment is listed once; `in` exactly when the computed audience holds the person."""
    from flows.activation.audiences import compute_audiences
    from flows.activation.config import load_config

    person_id, email, _ = merged_person
    assert _run(built_warehouse, "person", "show", person_id, "--json") == 0
    info = json.loads(capsys.readouterr().out)
    config = load_config(built_warehouse.segments_file)
    con = duckdb.connect(str(built_warehouse.warehouse_path), read_only=True)
    try:
        audiences = compute_audiences(
            built_warehouse, con, [s.name for s in config.segments if s.enabled], config
        )
    finally:
        con.close()
    shown = {s["segment"]: s for s in info["segments"]}
    assert set(shown) == {s.name for s in config.segments}
    for name, frame in audiences.items():
        assert shown[name]["in_segment"] == (person_id in frame["person_id"].to_list()), name
        if not shown[name]["in_segment"]:
            assert shown[name]["reason"] in {
                "not matching",
                "suppressed",
                "excluded",
                "holdout",
                "no email address",
                "duplicate address",
            }


def test_show_says_why_a_suppressed_person_is_left_out(built_warehouse, capsys):
    rows = _query(
        built_warehouse,
        "select person_id, email, suppression_reason from marts.dim_persons "
        "where is_email_suppressed and email is not null order by person_id limit 1",
    )
    if not rows:
        pytest.skip("the generated data has no suppressed person")
    person_id, email, reason = rows[0]
    assert _run(built_warehouse, "person", "show", email, "--json") == 0
    info = json.loads(capsys.readouterr().out)
    assert info["person_id"] == person_id
    assert info["consent"]["summary"]["is_suppressed_from_all"] is True
    assert info["consent"]["summary"]["suppression_reason"] == reason
    assert not any(s["in_segment"] for s in info["segments"])
    candidates = [s for s in info["segments"] if s["reason"] != "not matching"]
    assert all(s["reason"] == "suppressed" for s in candidates)
    assert _run(built_warehouse, "person", "show", email) == 0
    text = capsys.readouterr().out
    assert f"suppressed from every audience: {reason} since " in text


def test_unknown_person_is_one_clear_line_and_exit_1(built_warehouse, capsys):
    assert _run(built_warehouse, "person", "show", "nobody-at-all@example.org") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert "no person with email 'nobody-at-all@example.org'" in lines[0]
    assert _run(built_warehouse, "person", "export", "nobody-at-all@example.org") == 1
    assert "no person" in capsys.readouterr().err


def test_show_does_not_import_prefect(built_warehouse, merged_person):
    """Read-only and serverless: `person show` never imports Prefect (no temporary server)."""
    import subprocess

    code = (
        "import sys; from flows.cli import main; "
        f"rc = main(['--data-dir', {str(built_warehouse.root)!r}, 'person', 'show', {merged_person[0]!r}]); "
        "assert 'prefect' not in sys.modules, 'prefect imported'; sys.exit(rc)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_export_writes_everything_held_as_private_json(built_warehouse, merged_person, tmp_path, capsys):
    person_id, email, _ = merged_person
    out = tmp_path / "access-request.json"
    assert _run(built_warehouse, "person", "export", email, "--out", str(out)) == 0
    assert str(out) in capsys.readouterr().out
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    data = json.loads(out.read_text())
    assert data["person_id"] == person_id
    relations = data["relations"]
    assert relations["marts.dim_persons"][0]["email"] == email
    # raw records included, with the original message decoded
    web = relations["raw.segment_events"]
    (raw_count,) = _query(
        built_warehouse,
        "select count(*) from raw.segment_events where user_id in (select identifier_value "
        "from intermediate.int_identity_map where person_id = ? and identifier_type = 'user_id') "
        "or anonymous_id in (select identifier_value from intermediate.int_identity_map "
        "where person_id = ? and identifier_type = 'anonymous_id')",
        [person_id, person_id],
    )[0]
    assert len(web) >= raw_count > 0
    assert all(isinstance(r["message"], dict) for r in web)
    assert "marts.fct_lifecycle_transitions" in relations
    (email_events,) = _query(
        built_warehouse, "select count(*) from raw.sendgrid_events where lower(trim(email)) = ?", [email]
    )[0]
    assert len(relations.get("raw.sendgrid_events", [])) >= email_events
    assert not [r for r in relations if r.startswith("privacy.")]  # the ledger holds hashes only
    assert data["row_counts"] == {k: len(v) for k, v in relations.items()}


def test_export_default_path_is_pseudonymous_under_exports(built_warehouse, merged_person, capsys):
    person_id, email, _ = merged_person
    path = built_warehouse.root / "exports" / f"{person_id}.json"
    try:
        assert _run(built_warehouse, "person", "export", email) == 0
        assert f"wrote {path} (mode 0600)" in capsys.readouterr().out
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert email not in path.name
        assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    finally:
        path.unlink(missing_ok=True)
