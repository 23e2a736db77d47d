"""One settings object for the whole product, read from the environment (and `.env`).

Every command takes `--data-dir`; everything the pipeline writes lives under it, including
`PREFECT_HOME`, so a data directory is self-contained and two data directories never share state.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"


class Settings(BaseSettings):
    """Runtime configuration. Environment variables use the `LIFECYCLE_` prefix."""

    model_config = SettingsConfigDict(env_prefix="LIFECYCLE_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    debug: bool = False
    # Segment definitions analytics engineers edit (SPEC section 8).
    segments_file: Path = REPO_ROOT / "segments.yml"
    # Threads DuckDB may use; default is all cores.
    duckdb_threads: int | None = None
    # Memory the pipeline's own DuckDB connections (ingest, gates, sync, publish) may use before
    # spilling to disk. DuckDB's default is 80% of RAM, which it fills with cache on big loads: a
    # bounded default keeps a laptop usable (and the 4 GiB peak target). Raise it on a big machine.
    duckdb_memory_limit: str | None = "2GB"
    # Ingest loads new files of a source in batches of about this many (uncompressed) MiB: one read,
    # one de-duplication and one commit per batch. Bigger batches amortise more; memory grows with it.
    ingest_batch_mib: int = 512
    # dbt unit tests check model logic on fixed inputs, so production builds leave them out, as dbt
    # recommends (they give the same answer every run); `lifecycle build --unit-tests` and CI run them.
    dbt_unit_tests: bool = False
    # Reuse one parse of the dbt project across data dirs (dbt_project/target/parse-cache); off:
    # every data dir parses on its own, as plain dbt does (flows/transform/dbt.py, parsed_manifest).
    dbt_parse_cache: bool = True

    # Key of the erasure ledger's HMAC (SPEC 10). Unset: a random key is generated into
    # DIR/.erasure_key (mode 0600) on the first erasure. Losing it: see README, Privacy and consent.
    erasure_key: SecretStr | None = None
    # Salt of the deterministic holdout assignment (SPEC 11, flows/activation/holdouts.py). Changing
    # it reshuffles only persons not yet assigned (recorded groups are kept). Not a secret.
    holdout_salt: str = "lifecycle-holdout-v1"

    # Zendesk API mode (SPEC 4.3). Unprefixed names, as Zendesk's own tooling uses them.
    zendesk_subdomain: str | None = Field(default=None, validation_alias=AliasChoices("ZENDESK_SUBDOMAIN"))
    zendesk_email: str | None = Field(default=None, validation_alias=AliasChoices("ZENDESK_EMAIL"))
    zendesk_api_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ZENDESK_API_TOKEN")
    )
    # Overrides https://{subdomain}.zendesk.com, e.g. a local test server.
    zendesk_base_url: str | None = Field(default=None, validation_alias=AliasChoices("ZENDESK_BASE_URL"))

    @cached_property
    def root(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def raw_dir(self) -> Path:
        return self.root / "raw"

    @property
    def warehouse_path(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def published_dir(self) -> Path:
        return self.root / "published"

    @property
    def published_path(self) -> Path:
        return self.published_dir / "marts.duckdb"

    @property
    def outbound_dir(self) -> Path:
        return self.root / "outbound"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def prefect_home(self) -> Path:
        return self.root / ".prefect"

    @property
    def dbt_project_dir(self) -> Path:
        return DBT_PROJECT_DIR

    @property
    def dbt_target_dir(self) -> Path:
        """dbt artifacts per data dir, so concurrent test data dirs never share a manifest."""
        return self.root / "dbt_target"


class EnvironmentChange:
    """What `configure_environment` changed in `os.environ`, to put back.

    Used as a context manager it restores the previous values on exit (innermost first when
    nested), so a step pointed at another data dir (a replay's warehouse, a test's copy) leaves the
    caller's environment as it found it. Called bare, the change simply stays for the process, as a
    command's own settings should.
    """

    def __init__(self, previous: dict[str, str | None]) -> None:
        self._previous = previous

    def restore(self) -> None:
        for key, value in self._previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._previous = {}

    def __enter__(self) -> EnvironmentChange:
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()


def configure_environment(settings: Settings) -> EnvironmentChange:
    """Set process environment the libraries read at import time; returns what to restore.

    Must run before `prefect` is imported: Prefect reads PREFECT_HOME once. Telemetry is off because
    there is no network here and users should not be surprised by phone-home traffic.
    `with configure_environment(settings):` restores the previous environment on exit.
    """
    settings.root.mkdir(parents=True, exist_ok=True)
    defaults = {
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "60",
        "GX_ANALYTICS_ENABLED": "false",
        "PREFECT_HOME": str(settings.prefect_home),
        "PREFECT_LOGGING_LEVEL": "WARNING" if not settings.debug else "INFO",
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
    }
    # These must follow the chosen data dir even if a parent process set them.
    forced = {
        "LIFECYCLE_DATA_DIR": str(settings.root),
        "LIFECYCLE_WAREHOUSE": str(settings.warehouse_path),
    }
    previous = {key: os.environ.get(key) for key in (*defaults, *forced)}
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    os.environ.update(forced)
    return EnvironmentChange(previous)
