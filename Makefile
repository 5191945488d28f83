# ToolBoxAI Realtime. The two commands that matter: `make dev` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
TOOLS_VENV  := .venv-tools
CHECKOV_VENV := .venv-checkov
ENV         ?= default
PY          := $(VENV)/bin/python
PYTEST_ARGS ?=
export SAM_CLI_TELEMETRY := 0

.PHONY: help dev test lint format typecheck unit integration infra e2e js js-deps js-pack js-measure token reconcile canary bench schema openapi browser build validate deploy dist checkov deps tools clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

$(VENV)/.installed: pyproject.toml
	@PY312=$$(scripts/find-python312.sh) && { [ -x $(PY) ] || "$$PY312" -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet '.[dev]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# The TypeScript client (@toolboxai/realtime) has its own package and lockfile.
JS := clients/js
$(JS)/node_modules/.installed: $(JS)/package.json $(JS)/package-lock.json
	cd $(JS) && npm ci --no-audit --no-fund
	@touch $@

$(TOOLS_VENV)/.installed: requirements-tools.txt
	@PY312=$$(scripts/find-python312.sh) && { [ -x $(TOOLS_VENV)/bin/python ] || "$$PY312" -m venv $(TOOLS_VENV); }
	$(TOOLS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS_VENV)/bin/python -m pip install --quiet -r requirements-tools.txt
	@touch $@

# checkov pins an older boto3 than SAM CLI and the application: its own environment.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	@PY312=$$(scripts/find-python312.sh) && { [ -x $(CHECKOV_VENV)/bin/python ] || "$$PY312" -m venv $(CHECKOV_VENV); }
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	@touch $@

deps: $(VENV)/.installed node_modules/.installed ## install Python and npm dependencies if missing

tools: $(TOOLS_VENV)/.installed $(CHECKOV_VENV)/.installed ## install SAM CLI, cfn-lint and checkov (separate environments)

dev: deps ## run the whole local stack on http://127.0.0.1:8008 until Ctrl-C
	$(PY) -m local_stack

# The tools' bin directories come after the application's own (`make test` runs the e2e stack too).
TOOLS_PATH = $(CURDIR)/$(TOOLS_VENV)/bin:$(CURDIR)/$(CHECKOV_VENV)/bin

test: deps tools browser lint js ## install what is missing, lint, then run the whole suite (e2e and the TypeScript client included)
	PATH="$(TOOLS_PATH):$$PATH" $(PY) -m pytest $(PYTEST_ARGS)

js-deps: $(JS)/node_modules/.installed ## install the TypeScript client's npm dependencies (npm ci in clients/js)

js: deps js-deps ## the TypeScript client: generated types current, tsc --strict, ESLint, unit tests, e2e against the local stack
	cd $(JS) && npm run --silent check && npm run --silent test && npm run --silent test:e2e

js-pack: js-deps ## build the TypeScript client's installable tarball (clients/js/toolboxai-realtime-*.tgz)
	cd $(JS) && npm pack

js-measure: deps js-deps ## bundle sizes of the TypeScript client and its recovery time (starts its own stack)
	cd $(JS) && npm run --silent build && npm run --silent measure

lint: deps ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/shared/toolboxai_realtime functions local_stack scripts bench

format: deps ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

unit: deps ## unit tests only (no network)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

integration: deps ## handlers in-process under moto
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

infra: deps tools ## template lint, assertions and sam build
	PATH="$(TOOLS_PATH):$$PATH" $(PY) -m pytest tests/infrastructure $(PYTEST_ARGS)

e2e: deps browser ## the real local stack with soketi, pusher-js and the console in Chromium
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

token: $(VENV)/.installed ## print a dev JWT, e.g. make token ARGS="--sub 12345 --role teacher --class 101"
	@PYTHONPATH=layers/shared $(PY) -m local_stack.token $(ARGS)

reconcile: deps ## reconcile presence with soketi once, against the running `make dev` stack
	$(PY) -m local_stack.invoke ReconcileFunction events/reconcile_scheduled.json

canary: deps ## run the delivery canary against the running `make dev` stack, e.g. make canary ARGS="--runs 20"
	$(PY) -m local_stack.canary $(ARGS)

bench: deps ## run the benchmarks in bench/ and print their figures
	PYTHONPATH=layers/shared:. $(PY) -m bench $(ARGS)

schema: deps js-deps ## regenerate schema/catalog.schema.json from the event catalog, and the TypeScript types from it
	PYTHONPATH=layers/shared $(PY) -m scripts.export_catalog_schema
	cd $(JS) && npm run --silent generate

openapi: deps ## regenerate openapi.json from the resolvers (served locally at /openapi.json and /docs)
	PYTHONPATH=layers/shared $(PY) -m scripts.export_openapi

# The console's browser test drives Chromium (Debian's package; CI installs it in .ci/run).
CHROMIUM ?= $(shell command -v chromium || command -v chromium-browser)
export CHROMIUM

browser: ## make sure Chromium is there for the browser test (installs Debian's as root; CHROMIUM=... for another)
	@if [ -z "$(CHROMIUM)" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for the console's browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi
	@c="$${CHROMIUM:-$$(command -v chromium || command -v chromium-browser)}"; [ -n "$$c" ] && [ -x "$$c" ] || { \
	  echo "Chromium is needed by the console's browser test (tests/e2e/test_console_e2e.py):"; \
	  echo "  Debian/Ubuntu: sudo apt-get install -y chromium    or: make test CHROMIUM=/path/to/chrome"; \
	  exit 1; }

# sam build needs python3.12 on PATH (the layer's BuildMethod): the same one `make dev` finds.
# Then the built functions and layer are byte-compiled (issue 15): sam build ships sources only, and
# Lambda's /var/task and /opt are read-only, so without .pyc files every cold start compiles every
# module it imports (docs/benchmarks.md, "Cold start"). unchecked-hash: the zip's 2-second mtimes
# cannot invalidate them, and an artifact's sources never change after the build.
SAM_BUILD_DIR ?= .aws-sam/build
build: tools ## sam build (finds Python 3.12 itself, like make dev), then byte-compile the artifacts
	@PY312=$$(scripts/find-python312.sh) && PATH="$$(dirname "$$PY312"):$$PATH" \
		$(TOOLS_VENV)/bin/sam build --build-dir $(SAM_BUILD_DIR) $(SAM_BUILD_ARGS) && \
		"$$PY312" -m compileall -q -j 0 --invalidation-mode unchecked-hash $(SAM_BUILD_DIR) >/dev/null

validate: tools ## sam validate --lint, then checkov
	$(TOOLS_VENV)/bin/sam validate --lint --region us-east-1
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --config-file .checkov.yaml --file template.yaml

deploy: deps build ## sam deploy --config-env $(ENV) with PUSHER_APP_ID, PUSHER_KEY, ALARM_EMAIL from the environment (README, Deploying)
	PYTHONPATH=layers/shared $(PY) -m scripts.deploy --env $(ENV) --sam $(TOOLS_VENV)/bin/sam $(PARAMS)

# Built from a copy: setuptools writes build/ and *.egg-info next to the sources, which sam build would
# then ship in the layer.
DIST_DIR ?= dist
dist: deps ## build the Python publisher's wheel (toolboxai-realtime-publisher, layers/shared) into dist/
	@src=$$(mktemp -d) && trap 'rm -rf "$$src"' EXIT && \
	  cp -r layers/shared/. "$$src" && find "$$src" -name __pycache__ -prune -exec rm -rf {} + && \
	  $(PY) -m pip wheel --quiet --no-deps --wheel-dir "$(DIST_DIR)" "$$src"
	@ls "$(DIST_DIR)"/toolboxai_realtime_publisher-*.whl

clean: ## remove build output and local logs (keeps the virtual environments)
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache dist layers/shared/build layers/shared/*.egg-info
