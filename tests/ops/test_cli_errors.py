"""One clear line per failure (issue 16 item 6): one test per message, each as the user meets it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from flows.activation.config import ConfigError, load_config, parse_config, validate_fields
from flows.errors import LifecycleError
from flows.preflight import DbtVarsError, check_dbt_vars

REPO = Path(__file__).resolve().parents[2]


def _lifecycle(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "LIFECYCLE_", "ZENDESK_"))}
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ingest_api_without_credentials_names_the_missing_variables(tmp_path) -> None:
    proc = _lifecycle(
        "ingest", "tickets", "--api", "--data-dir", str(tmp_path), env={"ZENDESK_EMAIL": "a@b.c"}
    )
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "lifecycle ingest: ingest --api: ZENDESK_SUBDOMAIN, ZENDESK_API_TOKEN are not set "
        "(set them in the environment or .env (Zendesk API token authentication))"
    ]
    assert proc.stdout == ""


def test_api_on_a_source_without_an_api_is_an_error(tmp_path) -> None:
    proc = _lifecycle("ingest", "web", "--api", "--data-dir", str(tmp_path))
    assert proc.returncode == 1
    [line] = proc.stderr.splitlines()
    assert line.startswith("lifecycle ingest: --api: source 'web' has no API mode")
    assert "lifecycle ingest tickets --api" in line


def test_yaml_error_names_file_and_line(tmp_path) -> None:
    path = tmp_path / "segments.yml"
    path.write_text("destinations:\n  file:\n    type: file\nsegments: [\n  - name: a\n  b\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith("segments.yml line 5: not valid YAML: ")


def test_unknown_destination_key_names_line_and_closest_key(tmp_path) -> None:
    path = tmp_path / "segments.yml"
    path.write_text(
        "destinations:\n  file:\n    type: file\n    batchsize: 3\n"
        "segments:\n  - name: a\n    description: x\n    filter: 'true'\n"
        "    fields: [email]\n    destinations: [file]\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == (
        "segments.yml line 4: destination 'file': unknown key 'batchsize' (did you mean 'batch_size'?)"
    )


def test_unknown_top_level_key_gets_the_closest_key() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'segment' \(did you mean 'segments'\?\)"):
        parse_config({"destinations": {}, "segment": []})


def test_bad_filter_names_segment_column_and_closest_column(tmp_path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema marts")
    con.execute("create table marts.dim_persons (person_id varchar, email varchar, lifecycle_stage varchar)")
    config = parse_config(
        {
            "destinations": {"file": {"type": "file"}},
            "segments": [
                {
                    "name": "win_back",
                    "description": "x",
                    "filter": "lifecycle_stag = 'at_risk'",
                    "fields": ["email"],
                    "destinations": ["file"],
                }
            ],
        }
    )
    with pytest.raises(ConfigError) as err:
        validate_fields(con, config.segments)
    assert str(err.value) == (
        "segment 'win_back': filter \"lifecycle_stag = 'at_risk'\" uses column 'lifecycle_stag', "
        "which marts.dim_persons does not have (did you mean 'lifecycle_stage'?)"
    )


def test_dbt_var_that_is_not_a_number_names_file_and_var(tmp_path) -> None:
    project = tmp_path / "dbt_project.yml"
    project.write_text("name: x\nvars:\n  at_risk_days: 90d\n  churn_days: 180\n")
    with pytest.raises(DbtVarsError) as err:
        check_dbt_vars(project)
    assert str(err.value) == "dbt_project.yml: var 'at_risk_days' is '90d' (it must be a non-negative number)"
    check_dbt_vars(REPO / "dbt_project" / "dbt_project.yml")  # the shipped defaults pass


def test_build_select_matching_nothing_exits_non_zero(prefect_harness, tmp_path, capsys) -> None:
    """~60 s: dbt has to parse the project to know the selection is empty (the point of the test)."""
    from flows.cli import main

    code = main(["build", "--select", "nosuchmodel", "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[-1].startswith(
        "lifecycle build: --select 'nosuchmodel' matched no dbt model, seed, snapshot or test"
    )


def test_lifecycle_error_is_one_line() -> None:
    assert "\n" not in str(LifecycleError("a", hint="b"))
