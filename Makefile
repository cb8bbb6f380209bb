# Skillchain — two commands: `make run` and `make test`. Every target installs what is missing
# first (Python venv, npm toolchain, the offline solc, anvil) and installs nothing twice.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamps
SOLC_VERSION := $(shell node -p "require('./package.json').dependencies.solc" 2>/dev/null)
SOLCX_DIR := $(abspath $(VENV))/solcx
SOLC := $(SOLCX_DIR)/solc-v$(SOLC_VERSION)
export SOLCX_BINARY_PATH := $(SOLCX_DIR)
export PATH := $(abspath $(BIN)):$(PATH)
PYTEST_ARGS ?=

.PHONY: web-schema room-schema setup run test lint fuzz clean help bench bench-gas bench-ipfs bench-siwe bench-indexer bench-indexer-live bench-matching bench-api bench-stream bench-slots bench-availability bench-dapp bench-messages
.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: $(STAMP)/python $(STAMP)/npm $(SOLC) $(BIN)/anvil $(STAMP)/browser web/dist/index.html ## install everything that is missing

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP)/python: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt --config-settings editable_mode=compat -e '.[dev]'
	@mkdir -p $(STAMP) && touch $@

$(STAMP)/npm: package.json package-lock.json | $(BIN)/python
	npm ci --no-fund --no-audit --loglevel=error
	@mkdir -p $(STAMP) && touch $@

# The dApp: its own npm project (web/), type-checked and built by Vite into web/dist, which the API
# serves at /. Rebuilt when any of its sources changes.
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json
$(STAMP)/web-npm: web/package.json web/package-lock.json | $(BIN)/python
	cd web && npm ci --no-fund --no-audit --loglevel=error
	@mkdir -p $(STAMP) && touch $@

web/dist/index.html: $(STAMP)/web-npm $(WEB_SOURCES)
	cd web && npm run --silent build

web-schema: $(STAMP)/python $(STAMP)/web-npm ## regenerate the dApp's API types from the OpenAPI document
	cd web && npm run --silent schema

room-schema: $(STAMP)/python ## regenerate docs/room-protocol.schema.json (the room's WebSocket frames)
	$(BIN)/skillchain room schema > docs/room-protocol.schema.json

# py-solc-x (used by ape-solidity) runs any executable named solc-v<version> in SOLCX_BINARY_PATH.
$(SOLC): tools/solc.mjs $(STAMP)/npm
	@mkdir -p $(SOLCX_DIR)
	printf '#!/bin/sh\nexec node "%s" "$$@"\n' "$(abspath tools/solc.mjs)" > $@
	chmod +x $@

$(BIN)/anvil: $(STAMP)/npm
	ln -sf "$$(node -p "require('path').resolve('node_modules/@foundry-rs/anvil-' + {linux:'linux',darwin:'darwin'}[process.platform] + '-' + {x64:'amd64',arm64:'arm64'}[process.arch] + '/bin/anvil')")" $@
	$@ --version >/dev/null

# The browser tests drive Debian's Chromium with Playwright (Playwright's own browser download does not
# work here). Installed once, as root, from the distribution's packages.
$(STAMP)/browser: | $(BIN)/python
	@command -v chromium >/dev/null || { echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || { echo "could not install chromium (needs root and the Debian mirror)"; exit 1; }; }
	@mkdir -p $(STAMP) && touch $@

run: setup ## start a local chain, deploy the contracts and run every service
	$(BIN)/skillchain up

test: setup ## run every test (the dApp's unit tests, then pytest with the browser tests)
	cd web && npx vitest run --reporter=dot
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup ## ruff, mypy and the dApp's TypeScript check
	cd web && npx tsc --noEmit
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fuzz: setup ## long property-based runs
	SKILLCHAIN_FUZZ=1 $(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

bench-gas: setup ## gas of our contracts vs OpenZeppelin, EAS and a struct escrow (anvil receipts)
	$(BIN)/python bench/gas.py

bench-ipfs: setup ## adding 1 GiB to the embedded IPFS store vs hashlib.sha256
	$(BIN)/python bench/ipfs_add.py

bench-indexer: setup ## index 1M events: ours (SQLite, PostgreSQL) vs a web3.py indexer
	$(BIN)/python bench/indexer.py

bench-indexer-live: setup ## live mode: block mined -> row queryable, ours vs a web3.py poller
	$(BIN)/python bench/indexer_live.py

bench-matching: setup ## numpy ALS vs implicit; NDCG; top-10 query latency
	$(BIN)/python bench/matching.py

bench-api: setup ## API throughput vs a bare FastAPI endpoint, 100 clients
	$(BIN)/python bench/api.py

bench-siwe: setup ## sign-in verification throughput vs siwe-py
	$(BIN)/python bench/siwe_verify.py

bench-stream: setup ## 10,000 open live streams: /health p99, delivery p99, RSS, vs the previous stream
	$(BIN)/python bench/stream.py

bench-slots: setup ## a month of free slots with 2,000 bookings: ours vs a check-every-15-minutes baseline
	$(BIN)/python bench/slots.py

bench-availability: setup ## "available in the next 7 days for skill X" over 10,000 mentors: the index vs slots per mentor
	$(BIN)/python bench/availability_search.py

bench-dapp: setup ## the dApp's first load in Chromium: gzipped JS and first contentful paint vs the shell without JS
	$(BIN)/python bench/dapp_load.py

bench-messages: setup ## 1,000 users in 500 threads: send → delivered p99, max rate; 200 rooms' signalling, one and two replicas
	$(BIN)/python bench/messages.py

bench: bench-gas bench-siwe bench-ipfs bench-indexer bench-indexer-live bench-matching bench-api bench-stream bench-slots bench-availability bench-dapp bench-messages ## every benchmark

clean: ## remove build outputs (keeps the data folder)
	rm -rf .build $(VENV) node_modules
