# complaint-copilot: `make run` and `make test` each set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
INDEX_STAMP := var/index/.built

.PHONY: install index run test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The index rebuild is incremental (content-hashed): re-running it embeds only what changed.
index: install
	$(BIN)/copilot kb index

run: index
	$(BIN)/copilot serve

lint: install
	$(BIN)/ruff check copilot tests benchmarks

test: install lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: install
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf var .pytest_cache
