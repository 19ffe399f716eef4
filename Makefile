# PropTrade: one entry point for developers and CI (.ci/run calls `make test`).
# `make install` is a no-op while pyproject.toml is older than the stamp it leaves.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := streams gateway storage analytics

.DEFAULT_GOAL := help
.PHONY: help install run test lint clean

help: ## list the targets
	@echo "PropTrade — make targets:"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z]+:.*## / {printf "  %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "Variables: PYTHON=$(PYTHON) (3.11 or newer; used only to create $(VENV))"

install: $(STAMP) ## create .venv if missing and install PropTrade with its dev tools

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "PropTrade needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) --version 2>&1)." \
		       "Run: make install PYTHON=python3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: install ## start PropTrade on this machine (proptrade up) until Ctrl+C
	$(BIN)/proptrade up

test: install ## run the test suite (pytest)
	$(BIN)/pytest

lint: install ## ruff and strict mypy on the packages
	$(BIN)/ruff check $(PACKAGES) tests
	$(BIN)/mypy $(PACKAGES)

clean: ## remove caches and build leftovers (keeps .venv and var/)
	rm -rf .mypy_cache .ruff_cache .pytest_cache .hypothesis build dist *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
