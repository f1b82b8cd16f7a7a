# The README's two commands: `make run` and `make test`. Both set up what they need first.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3

.PHONY: setup docker base-image image run test lint bench clean

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

# The app image (compose.yaml), built offline: host wheelhouse + Dockerfile on the agent base image.
# async-timeout is listed because redis needs it on the base image's Python 3.11.2 (< 3.11.3).
image: setup
	rm -rf build/wheelhouse
	$(BIN)/python -m pip wheel --quiet --disable-pip-version-check --wheel-dir build/wheelhouse \
	  . pip "setuptools>=69" wheel async-timeout
	rm -f build/wheelhouse/rl_arena-*.whl
	docker build --quiet -t rl-arena/app:dev .

run: setup
	$(BIN)/rl-arena up

test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/arena_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
