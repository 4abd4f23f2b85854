# inventory_assets: `make demo` runs the whole demo, `make test` the whole suite (README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SIZE ?= small
PYTEST_ARGS ?=
# The instance is this project's: dagster.yaml at the root, storage in git-ignored folders beside it.
export DAGSTER_HOME := $(CURDIR)

.PHONY: install dev demo test ui bench lock clean

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
	$(BIN)/dagster asset materialize -m inventory_assets.definitions --select '*'
	$(BIN)/python -m inventory_assets.summary

## test: the full suite (SQLite, PostgreSQL and MariaDB tests included)
test: dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## ui: the Dagster webserver and daemon on http://127.0.0.1:3000
ui: install
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

## bench: the whole graph through Dagster at SIZE=small|medium|large (BACKEND=sqlite|postgresql), timed per
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
