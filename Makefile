# PropTrade: one entry point for developers and CI (.ci/run calls `make test`).
# `make install` is a no-op while nothing changed: the Python install is stamped against
# pyproject.toml, the web app's packages against web/package-lock.json, its build against
# every file it is built from, and Chromium (for the browser tests) is installed once.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := streams gateway storage analytics

WEB := web
WEB_PACKAGES := $(WEB)/node_modules/.installed
WEB_BUILD := $(WEB)/dist/index.html
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/public -type f 2>/dev/null) \
	$(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig.json $(WEB)/package.json
CHROMIUM := /usr/bin/chromium

.DEFAULT_GOAL := help
.PHONY: help install run test lint clean web api

help: ## list the targets
	@echo "PropTrade — make targets:"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z]+:.*## / {printf "  %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "Variables: PYTHON=$(PYTHON) (3.11 or newer; used only to create $(VENV))"

install: $(STAMP) $(WEB_BUILD) $(CHROMIUM) ## create .venv, install PropTrade and its dev tools, build the web app

web: $(WEB_BUILD) ## build the web app into web/dist when its sources changed

api: $(STAMP) $(WEB_PACKAGES) ## regenerate the web app's typed client from the gateway's OpenAPI document
	@mkdir -p var
	$(BIN)/python -c 'import sys, orjson; from gateway.app import api_routes, VERSION; \
		from gateway.openapi import document; \
		sys.stdout.buffer.write(orjson.dumps(document(api_routes(), "PropTrade", VERSION)))' \
		> var/openapi.json
	cd $(WEB) && OPENAPI=../var/openapi.json npm run --silent api

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "PropTrade needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) --version 2>&1)." \
		       "Run: make install PYTHON=python3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(WEB_PACKAGES): $(WEB)/package-lock.json
	@command -v npm >/dev/null || { echo "The web app needs Node.js 20 or newer with npm." >&2; exit 1; }
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WEB_BUILD): $(WEB_PACKAGES) $(WEB_SOURCES)
	cd $(WEB) && npm run --silent build
	@touch $@

# Debian's Chromium for the browser tests (never a downloaded browser).
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq chromium >/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; \
	else sudo apt-get install -y -qq chromium >/dev/null; fi

run: install ## start PropTrade on this machine (proptrade up) until Ctrl+C
	$(BIN)/proptrade up

test: install ## run the test suite: the web app's unit tests (vitest), then pytest
	cd $(WEB) && npx vitest run --reporter=dot
	$(BIN)/pytest

lint: install ## ruff and strict mypy on the packages
	$(BIN)/ruff check $(PACKAGES) tests
	$(BIN)/mypy $(PACKAGES)
	cd $(WEB) && npm run --silent typecheck

clean: ## remove caches and build leftovers (keeps .venv and var/)
	rm -rf .mypy_cache .ruff_cache .pytest_cache .hypothesis build dist *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
