# Siyu: `make demo` sets everything up and runs the pipeline; `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9

export SIYU_LANDING_ROOT ?= $(CURDIR)/data/landing
export SIYU_WAREHOUSE ?= $(CURDIR)/data/warehouse/siyu.duckdb
export SIYU_RAW_DIR ?= $(CURDIR)/data/warehouse/siyu_raw
export SIYU_TIMEZONE ?= Asia/Shanghai
export SIYU_LOG_DIR ?= $(CURDIR)/data/logs
# daily: the one-DAG pipeline siyu_daily; assets: siyu_ingest_<source> + siyu_build (docs/operations.md)
export SIYU_DAG_TOPOLOGY ?= daily
export SIYU_OUTBOX ?= $(CURDIR)/data/outbox
export AIRFLOW_HOME ?= $(CURDIR)/airflow_home
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DEFAULT_TIMEZONE := $(SIYU_TIMEZONE)
export AIRFLOW__CORE__EXECUTOR := LocalExecutor
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export AIRFLOW__LOGGING__BASE_LOG_FOLDER := $(AIRFLOW_HOME)/logs
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export NO_COLOR := 1

DEMO_USERS ?= 5000
DEMO_DAYS ?= 180
DEMO_START ?= 2024-12-31
DEMO_AS_OF ?= 2025-06-28
DEMO_SEED ?= 7

AIRFLOW_PORT ?= 8080

.PHONY: demo test test-fast system-deps setup airflow-db dbt-parse docs-assets superset-env generate-demo run-demo clean lint lint-sql bench airflow-up airflow-down

demo: setup airflow-db generate-demo run-demo

setup: $(VENV)/.installed dbt-parse docs-assets

# uv sync --compile-bytecode: Python then never compiles the libraries' sources at import (every
# `siyu`, `dbt` and Airflow task process imports hundreds of modules; with
# PYTHONDONTWRITEBYTECODE set, as on many CI images, nothing would be cached otherwise).
$(VENV)/.installed: pyproject.toml uv.lock
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --upgrade >/dev/null
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --frozen --inexact --extra dev --quiet --compile-bytecode
	touch $@

# The scripts, styles and fonts the Great Expectations Data Docs load (bootstrap, jQuery, vega,
# Font Awesome, ...), from the npm registry into include/siyu/_vendor/docs (pinned versions and
# sha512 in include/siyu/offline_docs.py; kept once there): the docs then open offline.
docs-assets: $(VENV)/.installed
	$(BIN)/python -m siyu.offline_docs vendor

# parses the project (target/manifest.json, which cosmos renders the DAGs from) through
# siyu-dbt, which also keeps the parsed project for the runs (docs/operations.md)
dbt-parse: $(VENV)/.installed
	mkdir -p $(SIYU_LOG_DIR)
	cd dbt_project && ../$(BIN)/siyu-dbt ls --profiles-dir . --resource-type model --quiet \
		> $(SIYU_LOG_DIR)/dbt-parse.log 2>&1 || { tail -30 $(SIYU_LOG_DIR)/dbt-parse.log; exit 1; }

airflow-db: $(VENV)/.installed
	mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || { tail -30 $(AIRFLOW_HOME)/db-migrate.log; exit 1; }

# The demo writes only under data/ of this checkout, whatever SIYU_* paths the environment
# names (it deletes its landing zone and warehouse folder first: never a configured real one),
# and runs the one-DAG topology it demonstrates.
DEMO_DATA := $(CURDIR)/data
generate-demo run-demo: export SIYU_LANDING_ROOT := $(DEMO_DATA)/landing
generate-demo run-demo: export SIYU_WAREHOUSE := $(DEMO_DATA)/warehouse/siyu.duckdb
generate-demo run-demo: export SIYU_RAW_DIR := $(DEMO_DATA)/warehouse/siyu_raw
generate-demo run-demo: export SIYU_LOG_DIR := $(DEMO_DATA)/logs
generate-demo run-demo: export SIYU_OUTBOX := $(DEMO_DATA)/outbox
run-demo: export SIYU_DAG_TOPOLOGY := daily

generate-demo: $(VENV)/.installed
	rm -rf $(SIYU_LANDING_ROOT)
	$(BIN)/siyu generate --out $(SIYU_LANDING_ROOT) --users $(DEMO_USERS) --days $(DEMO_DAYS) \
	    --start $(DEMO_START) --seed $(DEMO_SEED)

run-demo: $(VENV)/.installed
	rm -rf $(dir $(SIYU_WAREHOUSE))
	mkdir -p $(SIYU_LOG_DIR)
	$(BIN)/airflow dags test siyu_daily $(DEMO_AS_OF) -f $(CURDIR)/dags/siyu_daily.py > $(SIYU_LOG_DIR)/airflow-dags-test.log 2>&1 \
	    || { tail -60 $(SIYU_LOG_DIR)/airflow-dags-test.log; exit 1; }
	@grep -E "DagRun Finished|state=" $(SIYU_LOG_DIR)/airflow-dags-test.log | tail -3 || true
	$(BIN)/python -m siyu.report --warehouse $(SIYU_WAREHOUSE)
	cd dbt_project && ../$(BIN)/dbt docs generate --static --profiles-dir . --quiet \
	    --vars '{as_of: $(DEMO_AS_OF)}' --log-path $(SIYU_LOG_DIR)/dbt
	$(BIN)/siyu deliver --warehouse $(SIYU_WAREHOUSE) --date $(DEMO_AS_OF) --outbox $(SIYU_OUTBOX)
	@echo
	@echo "landing zone : $(SIYU_LANDING_ROOT)"
	@echo "warehouse    : $(SIYU_WAREHOUSE)  (raw files in $(basename $(SIYU_WAREHOUSE))_raw/)"
	@echo "airflow log  : $(SIYU_LOG_DIR)/airflow-dags-test.log (task logs in $(AIRFLOW_HOME)/logs)"
	@echo "dbt log      : $(SIYU_LOG_DIR)/dbt"
	@echo "marts        : schema marts of the warehouse (kpi_department_daily: every KPI, target, status)"
	@echo "BI views     : schema bi (masked; open read-only: duckdb:///$(SIYU_WAREHOUSE)?access_mode=read_only); Parquet: $(BIN)/siyu export --out data/export"
	@echo "data docs    : $(dir $(SIYU_WAREHOUSE))quality/data_docs/index.html (Great Expectations, opens offline; results in ops.dq_results)"
	@echo "superset     : $(BIN)/python bi/superset/build.py --warehouse $(SIYU_WAREHOUSE) --out data/superset/siyu_starter.zip (starter dashboard: docs/bi.md)"
	@echo "dbt docs     : $(CURDIR)/dbt_project/target/static_index.html (one file: opens from disk, offline)"
	@echo "extracts     : $(SIYU_OUTBOX)/$(DEMO_AS_OF)/<marketing|operations|sales|service|executive>/ (XLSX, CSV, HTML; e-mail them with: siyu deliver --send)"
	@echo "decisions    : $(CURDIR)/dbt_project/DECISIONLOG.md"
	@echo "quarantine   : $(BIN)/siyu quarantine"

# Airflow on http://localhost:$(AIRFLOW_PORT): `airflow standalone` (api-server, scheduler,
# dag-processor, triggerer) in the background, AIRFLOW_HOME=airflow_home/, the warehouse pool
# with one slot (DuckDB: one writer). Log in as admin, password printed below.
airflow-up: setup airflow-db
	@if [ -f $(AIRFLOW_HOME)/standalone.pid ] && kill -0 $$(cat $(AIRFLOW_HOME)/standalone.pid) 2>/dev/null; \
	    then echo "Airflow already running (pid $$(cat $(AIRFLOW_HOME)/standalone.pid))"; exit 0; fi
	$(BIN)/airflow pools set siyu_warehouse 1 "DuckDB: one writer of the warehouse" > /dev/null
	SIYU_WAREHOUSE_POOL=siyu_warehouse AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT=$(AIRFLOW_PORT) \
	    AIRFLOW__CORE__PARALLELISM=4 \
	    AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://localhost:$(AIRFLOW_PORT)/execution/ \
	    PATH=$(CURDIR)/$(BIN):$$PATH setsid nohup $(BIN)/airflow standalone > $(AIRFLOW_HOME)/standalone.log 2>&1 < /dev/null & \
	    echo $$! > $(AIRFLOW_HOME)/standalone.pid
	@for i in $$(seq 90); do kill -0 $$(cat $(AIRFLOW_HOME)/standalone.pid) 2>/dev/null || break; curl -fs http://localhost:$(AIRFLOW_PORT)/api/v2/monitor/health > /dev/null && break; \
	    sleep 2; done; curl -fs http://localhost:$(AIRFLOW_PORT)/api/v2/monitor/health > /dev/null \
	    || { tail -40 $(AIRFLOW_HOME)/standalone.log; exit 1; }
	@echo "Airflow: http://localhost:$(AIRFLOW_PORT)  user admin, password: $$(cat $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated 2>/dev/null)"
	@echo "log: $(AIRFLOW_HOME)/standalone.log  stop: make airflow-down"

airflow-down:
	@if [ -f $(AIRFLOW_HOME)/standalone.pid ]; then pid=$$(cat $(AIRFLOW_HOME)/standalone.pid); \
	    kill -TERM -- -$$pid 2>/dev/null; for i in $$(seq 30); do kill -0 -- -$$pid 2>/dev/null || break; sleep 1; done; \
	    kill -KILL -- -$$pid 2>/dev/null; rm -f $(AIRFLOW_HOME)/standalone.pid; echo "Airflow stopped"; \
	    else echo "Airflow not running (no $(AIRFLOW_HOME)/standalone.pid)"; fi

# Tests run in parallel, one worker per core (pytest-xdist); a test module stays on one worker,
# so its module-scoped fixtures (a landing zone, a built warehouse) are built once.
PYTEST_PARALLEL ?= -n auto --dist loadfile --no-loadscope-reorder

test: setup airflow-db system-deps superset-env
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL) --durations=15

# The quick loop: every test but those marked slow (dbt builds, a real Airflow, PostgreSQL,
# Chromium; see tests/conftest.py). `make test` remains the whole suite.
test-fast: setup airflow-db
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL) -m "not slow" --durations=10

# Servers and browsers some tests drive for real (PostgreSQL, headless Chromium): Debian
# packages, installed once when missing (as root, or through sudo).
# fonts-noto-cjk: Chromium draws the Chinese labels of the reports (boxes without it).
system-deps:
	@missing=""; command -v chromium >/dev/null || missing="$$missing chromium"; \
	    fc-list :lang=zh 2>/dev/null | grep -q . || missing="$$missing fonts-noto-cjk"; \
	    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	    if [ -n "$$missing" ]; then echo "installing Debian packages:$$missing"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	        --no-install-recommends $$missing > /dev/null; fi

# Superset 5.0.0 in a virtual environment of its own (its dependencies clash with Airflow's) and
# an initialised metadata database, for the starter dashboard's test (tests/test_superset.py)
# and for trying the dashboard locally: built once into ~/.cache/siyu/superset-<hash>
# (see bi/superset/install.py), about 2.5 minutes the first time, nothing afterwards (docs/bi.md).
superset-env: $(VENV)/.installed
	$(BIN)/python bi/superset/install.py

lint: lint-sql
	$(BIN)/ruff check include dags tests benchmarks

# sqlfluff over the models and singular data tests (.sqlfluff; tests/test_sql_lint.py runs the
# same in `make test`); `$(BIN)/sqlfluff fix <file>` applies its layout and case fixes
lint-sql: $(VENV)/.installed
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/tests --processes 2

bench: setup
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf data airflow_home dbt_project/target dbt_project/logs
