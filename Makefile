# Stockroom: `make run` serves the API, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench schema migration migration-reset clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)  ## serve on 127.0.0.1:8000 (migrates, offers the demo shop on an empty store)
	$(BIN)/python server.py --offer-demo

# Two test processes (pytest-xdist) keep both cores busy while the other waits on a database
# or a server; the tests marked `slow` (real servers) run on one of them, one at a time.
test: $(STAMP)  ## ruff, the layers contract, then the whole suite on SQLite and PostgreSQL
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

lint: $(STAMP)  ## ruff and the layers contract (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)  ## benchmarks against a real server (never part of `make test`)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && { apt-get install -y -q wrk >/dev/null 2>&1 \
	       || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }; }; } \
	  || echo "wrk is not installed (apt-get install wrk): reads use the Python driver"
	$(BIN)/python -m bench

schema: $(STAMP)  ## regenerate schema.graphql, the committed SDL (tests/test_schema_guard.py)
	$(BIN)/python server.py export-schema > schema.graphql

migration: $(STAMP)  ## autogenerate a migration: make migration m="what changed"
	$(BIN)/python -m models.migrate revision "$(m)"

migration-reset: $(STAMP)  ## before the first release: regenerate the one initial migration
	$(BIN)/python -m models.migrate reset

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
