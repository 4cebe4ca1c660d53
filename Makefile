# alphagate: `make help` lists the targets. `make pipeline` and `make test` work on a
# fresh clone: they create .venv and install what they need first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# The install stamp is named after pyproject.toml's content, so editing the
# dependencies re-installs and anything else is a no-op.
STAMP  := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-16)
BENCH_ROWS ?= 10000000
BENCH_STAMP := $(VENV)/.bench-$(shell sha256sum pyproject.toml | cut -c1-16)
# `make pipeline` runs every stage on the bundled data; the stage targets run one
# stage of the same run (reusing what is unchanged). PIPELINE_ARGS adds options,
# e.g. PIPELINE_ARGS="--symbols ^GSPC --start 2005-01-01".
PIPELINE_ARGS ?=
PIPE   := $(BIN)/alphagate pipeline run $(PIPELINE_ARGS)
MODELS ?= logreg lightgbm catboost

.DEFAULT_GOAL := help
.PHONY: help setup lint format test test-fast pipeline paper pipeline-fast data features labels \
	train calibrate train-all backtest validate analyze bench clean distclean \
	docker-build docker-up docker-down docker-logs health

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

setup: $(STAMP) ## Create .venv and install alphagate with its dev tools (quick when done)
	@# Bytecode for the source tree, as a regular install writes it: an editable install
	@# does not, and under PYTHONDONTWRITEBYTECODE every command would recompile it.
	@$(BIN)/python -m compileall -q src/alphagate

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

pipeline: setup ## The whole research pipeline on the bundled data, then its report
	$(PIPE)

paper: setup ## Replay the latest run's out-of-sample bars through the paper engine (after make pipeline)
	$(BIN)/alphagate paper --run latest

pipeline-fast: setup ## Reuse data, features and labels; retrain, recalibrate, backtest, validate
	$(PIPE) --from-stage train

data: setup ## Pipeline stage: ingest the bundled data and snapshot the selection
	$(PIPE) --stage data

features: setup ## Pipeline stage: point-in-time features
	$(PIPE) --stage features

labels: setup ## Pipeline stage: fixed-horizon and triple-barrier labels
	$(PIPE) --stage labels

train: setup ## Pipeline stage: one calibrated model per horizon
	$(PIPE) --stage train

calibrate: setup ## Pipeline stage: choose each horizon's calibrator on out-of-fold predictions
	$(PIPE) --stage calibrate

train-all: setup ## The pipeline once per model family in MODELS (each its own run)
	for model in $(MODELS); do ALPHAGATE__PIPELINE__MODEL=$$model $(PIPE) || exit 1; done

backtest: setup ## Pipeline stage: the models through the decision path, out of sample
	$(PIPE) --stage backtest

validate: setup ## Pipeline stage: every check with its threshold, and the verdict
	$(PIPE) --stage validate

analyze: setup ## Print the latest run's validation table and where its report is
	$(BIN)/alphagate pipeline show $(PIPELINE_ARGS)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev,bench]"
	@rm -f $(VENV)/.bench-*
	@touch $@

bench: setup $(BENCH_STAMP) ## Benchmarks: ingest (BENCH_ROWS rows), features, backtest vs peers
	$(BIN)/python benchmarks/bench_ingest.py --rows $(BENCH_ROWS)
	$(BIN)/python benchmarks/bench_features.py
	$(BIN)/python benchmarks/bench_backtest.py

clean: ## Remove generated data, state, runs and caches (keeps .venv)
	rm -rf data state runs bench-out .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache
	find . -name __pycache__ -type d -prune -not -path "./$(VENV)/*" -exec rm -rf {} +

distclean: clean ## Also remove .venv
	rm -rf $(VENV)

# -- the compose stack (docker-compose.yaml; secrets in an untracked .env) ---------------
HEALTH_URL ?= http://127.0.0.1:8000/health

docker-build: ## Build the alphagate image
	docker compose build

docker-up: ## Start the stack (engine + dashboard, Redis, PostgreSQL, Prometheus, Grafana)
	docker compose up -d

docker-down: ## Stop the stack (volumes are kept)
	docker compose down

docker-logs: ## Follow the stack's logs
	docker compose logs -f --tail=200

health: ## Ask the running engine's /health (exit 1 unless it may trade)
	@curl -fsS $(HEALTH_URL) && echo
