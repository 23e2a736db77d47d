"""sync_flow as a real Prefect flow run: summary, partial failure, dry run, sync state rows."""

from __future__ import annotations

import pytest

from flows.warehouse import fetch_all, open_warehouse
from tests.activation.mini_warehouse import person, write_warehouse

FLOW_YML = """
destinations:
  file: {type: file}
  crm:
    type: http
    url_env: TEST_FLOW_CRM_URL
segments:
  - name: win_back
    description: at risk
    filter: "lifecycle_stage = 'at_risk'"
    fields: [person_id, email, name]
    destinations: [file]
  - name: pushed
    description: a required http destination whose URL is missing -> partial failure
    filter: "true"
    fields: [person_id, email]
    destinations: [file, crm]
"""


@pytest.mark.slow
def test_sync_flow_runs_reports_and_dry_runs(prefect_harness, make_settings, monkeypatch):
    from flows.activation.flows import sync_flow

    monkeypatch.delenv("TEST_FLOW_CRM_URL", raising=False)
    settings = make_settings(FLOW_YML)
    write_warehouse(settings, [person("p1", "a@example.com"), person("p2", "b@example.com")])

    summary = sync_flow(settings, segments=["win_back"])
    assert summary.ok
    assert [(r["segment"], r["destination"], r["status"], r["adds"]) for r in summary.to_rows()] == [
        ("win_back", "file", "ok", 2)
    ]
    text = str(summary)
    assert "win_back" in text and "adds" in text and "result: ok" in text

    write_warehouse(settings, [person("p1", "a@example.com"), person("p3", "c@example.com")])
    before = settings.warehouse_path.read_bytes()
    dry = sync_flow(settings, dry_run=True)
    assert "dry run" in str(dry)
    rows = {(r["segment"], r["destination"]): r for r in dry.to_rows()}
    assert (rows[("win_back", "file")]["adds"], rows[("win_back", "file")]["removes"]) == (1, 1)
    assert settings.warehouse_path.read_bytes() == before
    assert not (settings.outbound_dir / "file" / "pushed").exists()

    partial = sync_flow(settings)
    assert not partial.ok
    rows = {(r["segment"], r["destination"]): r for r in partial.to_rows()}
    assert rows[("pushed", "crm")]["status"] == "failed"
    assert "TEST_FLOW_CRM_URL is not set" in rows[("pushed", "crm")]["error"]
    assert rows[("pushed", "file")]["status"] == "ok"  # one failing destination does not stop the others
    assert "PARTIAL FAILURE" in str(partial)
    assert "1 failed, first pushed/crm" in partial.summary_line()
    with open_warehouse(settings, read_only=True) as con:
        runs = fetch_all(con, "select status from sync.runs order by started_at")
    assert [r[0] for r in runs] == ["ok", "partial"]


SECRET_YML = """
destinations:
  crm:
    type: http
    url_secret: test-crm-url
    token_secret: test-crm-token
    rate_limit_per_second: 100
segments:
  - name: pushed
    description: delivered with credentials from Prefect Secret blocks
    filter: "true"
    fields: [person_id, email]
    destinations: [crm]
"""


@pytest.mark.slow
def test_http_credentials_from_prefect_secret_blocks(prefect_harness, make_settings, caplog):
    from prefect.blocks.system import Secret

    from flows.activation.flows import sync_flow
    from tests.activation.flaky_server import FlakyReceiver

    token = "blockTOKEN_s3cr3t_991"
    settings = make_settings(SECRET_YML, name="secret")
    write_warehouse(settings, [person("p1", "a@example.com"), person("p2", "b@example.com")])
    with FlakyReceiver(token, [("500",)]) as server:
        Secret(value=f"http://127.0.0.1:{server.port}/in/{token}").save("test-crm-url", overwrite=True)
        Secret(value=token).save("test-crm-token", overwrite=True)
        summary = sync_flow(settings)
        assert summary.ok, str(summary)
        assert {k for _, k in server.delivered} == {"p1", "p2"}
    assert token not in caplog.text and token not in str(summary)
