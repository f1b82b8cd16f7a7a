# The README's two commands: `make run` and `make test`. Both set up what they need first.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3

.PHONY: setup docker base-image run test lint bench clean

setup: $(STAMP) base-image

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

docker:
	bash jobs/images/ensure-docker.sh

base-image: $(STAMP) docker
	$(BIN)/rl-arena images build-base --if-missing

run: setup
	$(BIN)/rl-arena play connect_four builtin:lookahead builtin:random --games 4 \
	  --replay .arena/replays/demo.json.gz

test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/arena_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
