"""The KPI fixture warehouse: tiny hand-made raw data (kpi_fixture.py), built once per session.

Only the KPI marts and their ancestors are built, with the KPI tests and unit tests only
(`dbt build --select +path:models/marts/kpi --indirect-selection empty`: the core's own tests are
its owner's to run),
with as_of pinned, so the values in test_kpi_marts.py can be computed by hand.
"""

from __future__ import annotations

import pytest

from tests.kpi import kpi_fixture

KPI_SELECT = "+path:models/marts/kpi"


@pytest.fixture(scope="session")
def kpi_warehouse(tmp_path_factory):
    from flows.settings import Settings, configure_environment
    from flows.transform.dbt import run_dbt
    from flows.warehouse import open_warehouse

    settings = Settings(data_dir=tmp_path_factory.mktemp("kpi") / "data")
    configure_environment(settings)
    with open_warehouse(settings) as con:
        kpi_fixture.load_fixture(con)
    run_dbt(
        settings,
        ["build", "--select", KPI_SELECT, "--indirect-selection", "empty"],
        vars={"as_of": kpi_fixture.AS_OF},
    )
    return settings
