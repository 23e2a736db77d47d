# Two commands for a fresh clone: `make demo` and `make test`. Everything else is bootstrapped here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(PYTHON) -m uv
DATA_DIR ?= data
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 60
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: setup demo test test-deps lint bench clean

# uv is installed with pip when missing, then syncs the locked environment into .venv.
$(BIN)/.synced: pyproject.toml uv.lock
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	@touch $@

setup: $(BIN)/.synced

demo: setup
	$(BIN)/lifecycle generate --data-dir $(DATA_DIR)
	$(BIN)/lifecycle run --data-dir $(DATA_DIR)

# System packages tests need (headless Chromium for the report test, Java for Spark), installed by the project itself.
test-deps:
	@bash scripts/install-test-deps.sh

# The Spark portability test's packages (dependency group `spark`: dbt-spark, pyspark) are synced
# here only, so `make demo` never downloads pyspark (DECISIONS.md "Spark").
test: setup test-deps
	$(UV) sync --frozen --group spark --compile-bytecode --python $(PYTHON)
	$(BIN)/pytest -q -n 2 --dist loadfile --durations=25

# Python (ruff) and SQL (sqlfluff with the dbt templater, .sqlfluff); tests/test_lint.py runs it in CI.
lint: setup
	$(BIN)/ruff check flows tests bench
	$(BIN)/ruff format --check flows tests bench
	LIFECYCLE_WAREHOUSE=$(CURDIR)/dbt_project/target/lint.duckdb $(BIN)/sqlfluff lint --processes 1 \
		dbt_project/models dbt_project/snapshots dbt_project/tests

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(DATA_DIR) dbt_project/target dbt_project/logs
