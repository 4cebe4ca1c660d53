# alphagate: `make help` lists the targets. `make pipeline` and `make test` work on a
# fresh clone: they create .venv and install what they need first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# The install stamp is named after pyproject.toml's content, so editing the
# dependencies re-installs and anything else is a no-op.
STAMP  := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-16)
BENCH_ROWS ?= 10000000

.DEFAULT_GOAL := help
.PHONY: help setup lint format test test-fast pipeline bench clean distclean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

setup: $(STAMP) ## Create .venv and install alphagate with its dev tools (quick when done)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@rm -f $(VENV)/.installed-*
	@touch $@

lint: setup ## ruff, ruff format --check, strict mypy on src/, import-linter rings
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

format: setup ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

test: setup lint ## Lint, then run every test suite (slow ones included)
	$(BIN)/pytest

test-fast: setup ## Run the tests not marked slow
	$(BIN)/pytest -m "not slow"

pipeline: setup ## Ingest and check the bundled real data, print the coverage
	$(BIN)/alphagate data ingest --source bundled
	$(BIN)/alphagate data query "SELECT symbol, timeframe, count(*) AS bars, round(min(close), 2) AS min_close, round(max(close), 2) AS max_close FROM bars GROUP BY ALL ORDER BY ALL"

bench: setup ## Benchmarks: ingest of a generated CSV (BENCH_ROWS rows) against pandas.read_csv
	$(BIN)/python benchmarks/bench_ingest.py --rows $(BENCH_ROWS)

clean: ## Remove generated data, state, runs and caches (keeps .venv)
	rm -rf data state runs bench-out .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache
	find . -name __pycache__ -type d -prune -not -path "./$(VENV)/*" -exec rm -rf {} +

distclean: clean ## Also remove .venv
	rm -rf $(VENV)
