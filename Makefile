# Stockroom: `make run` serves the API, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run seed-demo test lint format bench schema migration migration-reset clean graphiql-assets

RUN_STAMP := $(VENV)/.installed-run

# Serving needs only the runtime dependencies; the test and lint tools come with `make test`.
$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP) $(RUN_STAMP)

run: $(RUN_STAMP)  ## serve on 127.0.0.1:8000 (migrates, offers the demo shop on an empty store)
	$(BIN)/python server.py --offer-demo

seed-demo: $(RUN_STAMP)  ## fill an empty store with the demo shop
	$(BIN)/python server.py seed-demo

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

# The GraphiQL page is served offline from transport/static/graphiql/ (committed, with the
# licences): serving needs no Node. This refreshes those files from the versions pinned in
# tools/graphiql-assets/package.json (edit them there, then `make graphiql-assets` and commit).
GRAPHIQL_NPM := tools/graphiql-assets/node_modules
GRAPHIQL_STATIC := transport/static/graphiql
graphiql-assets:  ## refresh the vendored GraphiQL build from npm (needs Node)
	cd tools/graphiql-assets && npm install --no-audit --no-fund
	mkdir -p $(GRAPHIQL_STATIC)
	cp $(GRAPHIQL_NPM)/react/umd/react.production.min.js $(GRAPHIQL_STATIC)/
	cp $(GRAPHIQL_NPM)/react-dom/umd/react-dom.production.min.js $(GRAPHIQL_STATIC)/
	cp $(GRAPHIQL_NPM)/graphiql/graphiql.min.js $(GRAPHIQL_NPM)/graphiql/graphiql.min.css $(GRAPHIQL_STATIC)/
	cp $(GRAPHIQL_NPM)/@graphiql/plugin-explorer/dist/index.umd.js $(GRAPHIQL_STATIC)/plugin-explorer.umd.js
	cp $(GRAPHIQL_NPM)/@graphiql/plugin-explorer/dist/style.css $(GRAPHIQL_STATIC)/plugin-explorer.css
	for p in react react-dom graphiql @graphiql/plugin-explorer; do \
	  printf '%s %s\n' "$$p" "$$(node -p "require('./$(GRAPHIQL_NPM)/$$p/package.json').version")"; \
	done > $(GRAPHIQL_STATIC)/VERSIONS
	{ for p in react react-dom graphiql @graphiql/plugin-explorer; do \
	    printf '## %s\n\n' "$$p"; \
	    if [ -f $(GRAPHIQL_NPM)/$$p/LICENSE ]; then cat $(GRAPHIQL_NPM)/$$p/LICENSE; else \
	      printf 'License: %s (package.json; from the graphiql monorepo, its LICENSE above)\n' \
	        "$$(node -p "require('./$(GRAPHIQL_NPM)/$$p/package.json').license")"; fi; \
	    printf '\n'; done; } \
	  > $(GRAPHIQL_STATIC)/LICENSES.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
