# inventory_assets: `make demo` runs the whole demo, `make test` the whole suite (README.md);
# `make check` the guard rails (ruff, format, mypy, import layers); `make test-fast` the one-minute loop.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SIZE ?= small
PYTEST_ARGS ?=
# The instance is this project's: dagster.yaml at the root, storage in git-ignored folders beside it.
export DAGSTER_HOME := $(CURDIR)
# dg runs from the project's virtualenv without activating it; Dagster's own beta notice about a parameter it
# passes itself (AssetSelection.all(include_sources=...)) is not the user's to act on.
DG := VIRTUAL_ENV=$(CURDIR)/$(VENV) PYTHONWARNINGS='ignore:Parameter `include_sources`' $(BIN)/dg

.PHONY: install dev demo test test-fast check ui bench lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs the versions known to work (constraints.txt); re-runs when either file changes.
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

## demo: demo databases (SIZE=small|medium|large), every asset materialized, a short summary
demo: install
	$(BIN)/inventory-assets demo-data --size $(SIZE) --replace
	$(DG) launch --assets '*'
	$(BIN)/python -m inventory_assets.summary

## test: the full suite (SQLite, PostgreSQL and MariaDB tests included)
test: dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## test-fast: the pure core and the in-process SQLite tier (no servers, no subprocesses, no browser)
FAST_MARKERS := not slow and not browser and not postgresql and not mariadb
test-fast: dev
	$(BIN)/python -m pytest -q -m "$(FAST_MARKERS)" $(PYTEST_ARGS)

## check: lint (ruff), format (ruff format --check), types (mypy), import layers (import-linter)
check: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## ui: the Dagster webserver and daemon on http://127.0.0.1:3000
ui: install
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

## bench: the whole graph through Dagster at SIZE=small|medium|large (BACKEND=sqlite|postgresql|mariadb), timed per
## step; then the plan model at that size (Pyomo vs numpy arrays; at medium PuLP + CBC and linprog too)
BACKEND ?= sqlite
bench: dev
	$(BIN)/python benchmarks/graph_benchmark.py --size $(SIZE) --backend $(BACKEND)
	$(BIN)/python benchmarks/graph_benchmark.py --report
	$(BIN)/python benchmarks/plan_benchmark.py --sizes $(SIZE)

## lock: record the installed versions as the known-good constraints
lock: dev
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^inventory.assets' > constraints.txt

clean:
	rm -rf storage history schedules logs .nux .telemetry .logs_queue data
