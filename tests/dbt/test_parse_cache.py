"""One parse of the dbt project serves every data dir (issue 20, flows/transform/dbt.py).

dbt keys its partial-parse state on the profile's DuckDB path, so without the shared parse every
new data dir paid a full parse. These tests read what a user reads: dbt's own log in the data dir
(`DIR/dbt_logs/dbt.log`) says whether dbt parsed the project in full, and the command's answer.
"""

from __future__ import annotations

from flows.settings import Settings
from flows.transform.dbt import parse_cache_entry, parsed_manifest, run_dbt

FULL_PARSE = "Unable to do partial parsing"
LS = ["ls", "--resource-type", "model", "--output", "name"]


def _log(s: Settings) -> str:
    return (s.root / "dbt_logs" / "dbt.log").read_text()


def _models(result) -> set[str]:
    return {line.strip() for line in result.result if line.strip()}


def test_a_new_data_dir_reuses_the_parse_of_another(tmp_path) -> None:
    first = Settings(data_dir=tmp_path / "first")
    models = _models(run_dbt(first, LS))
    assert {"dim_persons", "mart_funnel"} <= models

    second = Settings(data_dir=tmp_path / "second")
    assert _models(run_dbt(second, LS)) == models
    log = _log(second)
    assert "Found " in log and FULL_PARSE not in log, log[-2000:]
    # the data dir keeps its own artifacts, never the shared parse state
    assert not (second.dbt_target_dir / "partial_parse.msgpack").exists()


def test_a_torn_parse_state_is_parsed_again_and_the_command_still_answers(tmp_path) -> None:
    s = Settings(data_dir=tmp_path / "warm")
    run_dbt(s, LS)
    state = parse_cache_entry(s) / "partial_parse.msgpack"
    state.write_bytes(state.read_bytes()[:1000])  # what a kill -9 mid-write could leave

    torn = Settings(data_dir=tmp_path / "torn")
    assert {"dim_persons", "mart_funnel"} <= _models(run_dbt(torn, LS))
    assert state.stat().st_size > 1000  # written whole again


def test_vars_get_their_own_parse_and_other_targets_parse_as_dbt_does(tmp_path) -> None:
    s = Settings(data_dir=tmp_path / "d")
    lookback = {"incremental_lookback_minutes": 0}
    assert parsed_manifest(s, LS) is not None and parsed_manifest(s, LS, lookback) is not None
    plain, with_vars = parse_cache_entry(s), parse_cache_entry(s, lookback)
    assert plain != with_vars
    assert (plain / "partial_parse.msgpack").is_file() and (with_vars / "partial_parse.msgpack").is_file()
    assert parsed_manifest(s, [*LS, "--target", "postgres"]) is None
    assert parsed_manifest(s, ["parse"]) is None
    assert parsed_manifest(Settings(data_dir=tmp_path / "off", dbt_parse_cache=False), LS) is None
