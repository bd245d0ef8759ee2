# The entry points people and CI use: setup, demo, test, lint, bench.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell (cat pyproject.toml; $(PYTHON) --version) | sha1sum | cut -c1-12)
RUNTIME_STAMP := $(VENV)/.runtime-$(HASH)
DEV_STAMP := $(VENV)/.dev-$(HASH)
BENCH_STAMP := $(VENV)/.bench-$(HASH)
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: setup demo serve test lint typecheck pytest browser-deps migration bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(RUNTIME_STAMP)

$(BENCH_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@ $(DEV_STAMP) $(RUNTIME_STAMP)

setup: $(DEV_STAMP)

## make demo: install, migrate a SQLite database under var/, load the demo city, serve it.
demo: $(RUNTIME_STAMP)
	$(BIN)/gongshu db upgrade
	$(BIN)/gongshu demo load
	$(BIN)/gongshu serve --host $(HOST) --port $(PORT)

serve: $(RUNTIME_STAMP)
	$(BIN)/gongshu serve --host $(HOST) --port $(PORT)

## make test: dev dependencies, Chromium for browser tests, ruff, mypy, the whole suite.
test: $(DEV_STAMP) browser-deps lint typecheck pytest

browser-deps:
	@scripts/ensure-chromium
	@scripts/ensure-axe

lint: $(DEV_STAMP)
	$(BIN)/ruff check gongshu tests $(wildcard bench)
	$(BIN)/ruff format --check gongshu tests $(wildcard bench)

typecheck: $(DEV_STAMP)
	$(BIN)/mypy gongshu

pytest: $(DEV_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make migration MSG="add x to y": autogenerate a new revision; read it and name it before committing.
migration: $(DEV_STAMP)
	$(BIN)/python -c "import sys; from alembic import command; from gongshu.migrate import alembic_config, with_connection; from gongshu.settings import get_settings; with_connection(get_settings(), lambda cfg: command.revision(cfg, message=sys.argv[1], autogenerate=True))" "$(MSG)"

## make bench: every benchmark under bench/ (modules starting with _ are their helpers).
bench: $(BENCH_STAMP)
	@for b in bench/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache
