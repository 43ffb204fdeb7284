# Integration Points: two commands do all the set-up on a fresh machine.
#   make run    start the whole platform locally (Ctrl-C stops it)
#   make test   lint, then every test against a real Kafka and PostgreSQL of its own
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STATE := .local/test
CHROMIUM := /usr/bin/chromium
# The AsyncAPI initiative's parser, pinned by its lock file (npm ci), into a git-ignored folder.
ASYNCAPI := tools/asyncapi
ASYNCAPI_STAMP := $(ASYNCAPI)/node_modules/.installed

.PHONY: help venv browser run stop status test lint unit fmt chaos bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@echo "==> creating $(VENV) and installing the project (pip, from PyPI)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(STAMP) ## create the virtualenv and install dependencies (idempotent)

$(CHROMIUM):
	@echo "==> installing Debian's chromium (the web pages' browser test drives it headless)"
	@apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

$(ASYNCAPI_STAMP): $(ASYNCAPI)/package.json $(ASYNCAPI)/package-lock.json
	@command -v npm >/dev/null || { echo "make lint needs Node.js 18+ and npm (the AsyncAPI parser)"; exit 1; }
	@echo "==> installing the AsyncAPI parser (npm ci, from the npm registry)"
	@cd $(ASYNCAPI) && SCARF_ANALYTICS=false npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

browser: $(CHROMIUM) ## Debian's chromium for tests/e2e/test_web_ui.py (idempotent; apt, as root)

run: $(STAMP) ## start broker, postgres, services and views; Ctrl-C stops everything
	@$(PY) -m deploy.local.run

stop: $(STAMP) ## stop whatever a run or a test session left running (by PID file)
	@$(PY) -m deploy.local.run --stop
	@$(PY) -m deploy.local.devstack down --state-dir $(TEST_STATE) --kafka-port 29092 --controller-port 29093 --pg-port 25432

status: $(STAMP) ## health of broker, databases, processes; view lag; outbox backlog
	@$(PY) -m deploy.local.status

lint: $(STAMP) $(ASYNCAPI_STAMP) ## ruff, mypy --strict, import contracts, AsyncAPI documents
	@echo "==> ruff format --check"; $(VENV)/bin/ruff format --check --quiet .
	@echo "==> ruff check"; $(VENV)/bin/ruff check --quiet .
	@echo "==> mypy --strict"; $(VENV)/bin/mypy --no-error-summary contracts services deploy tests bench
	@echo "==> import contracts"; $(VENV)/bin/lint-imports --no-cache
	@echo "==> deploy/k8s manifests"; $(PY) -m deploy.k8s.validate --quiet
	@echo "==> AsyncAPI documents (@asyncapi/parser)"; node $(ASYNCAPI)/validate.mjs docs/asyncapi/*.json

fmt: $(STAMP) ## format and autofix
	@$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

chaos: $(STAMP) ## the crash suite at full size: 100k events, 100 SIGKILLs, 3 broker restarts (long)
	@nice -n 10 $(PY) -m deploy.local.chaos --events 100000 --kills 100 --broker-restarts 3 --max-seconds 10800

unit: $(STAMP) ## the fast tests only (no broker, no database)
	@$(PY) -m pytest tests/unit -q

# BENCH_ARGS passes options through, e.g. make bench BENCH_ARGS="--events 100000 --runs 1"
bench: $(STAMP) ## benchmarks on a stack of their own (ports 49092, 45432): table, docs/benchmarks.md
	@$(PY) -m bench $(BENCH_ARGS)

test: $(STAMP) $(CHROMIUM) lint ## lint, then all tests; the test stack starts fresh and stops afterwards
	@echo "==> resetting the test stack in $(TEST_STATE)"
	@$(PY) -m deploy.local.devstack down --state-dir $(TEST_STATE) --kafka-port 29092 --controller-port 29093 --pg-port 25432 >/dev/null
	@rm -rf $(TEST_STATE)
	@echo "==> pytest (unit, integration, end to end)"
	@$(PY) -m pytest -p no:cacheprovider
