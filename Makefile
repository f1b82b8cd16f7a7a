# The README's two commands: `make run` and `make test`. Both set up what they need first.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3

BUN := .tools/node_modules/.bin/bun
BUN_VERSION := 1.4.5
APP_IMAGE ?= rl-arena/app:dev

.PHONY: setup test-setup docker compose registry base-image stack-images browser frontend image run test test-fast lint bench \
	clean

# What `make run` needs; the tests also need a browser (test-setup).
setup: $(STAMP) $(BUN) base-image

test-setup: setup browser stack-images compose registry

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

# Reflex builds the dashboard with bun; its own installer downloads from the internet, so bun
# comes from the npm registry instead (see ../shared/RECIPES.md).
$(BUN):
	npm install --prefix .tools --no-fund --no-audit --loglevel=error bun@$(BUN_VERSION)

docker:
	bash jobs/images/ensure-docker.sh

# Compose v2 (`docker compose`, for `up --wait`), as a Docker CLI plugin when it is missing.
compose: docker
	bash jobs/images/ensure-compose.sh

# Debian's image registry (distribution 2.8), for the tests of RL_ARENA_IMAGE_REGISTRY.
registry:
	@command -v docker-registry >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install \
	  -y -qq docker-registry >/dev/null; }

browser:
	bash tests/ensure-chromium.sh

# The dashboard's frontend (any RL_ARENA_PUBLIC_URL: `rl-arena web` writes it in at start).
frontend: $(STAMP) $(BUN)
	$(BIN)/rl-arena web --build-only

base-image: $(STAMP) docker
	$(BIN)/rl-arena images build-base --if-missing

# Offline stand-ins for the official postgres, redis and nginx images (compose.yaml's
# POSTGRES_IMAGE, REDIS_IMAGE and PROXY_IMAGE), from Debian's packages: for machines whose Docker
# cannot reach Docker Hub.
STACK_IMAGES := postgres:rl-arena/postgres:15 redis:rl-arena/redis:7 nginx:rl-arena/nginx:1
stack-images: docker
	@for spec in $(STACK_IMAGES); do name=$${spec%%:*}; tag=$${spec#*:}; \
	  docker image inspect $$tag >/dev/null 2>&1 || bash jobs/images/build-stack-offline.sh $$name $$tag; \
	done

# The app image (compose.yaml), built offline on the agent base image: the Dockerfile's build
# stage takes from docker/offline/ what it would download (the wheelhouse, bun, bun's cache of
# the frontend's packages), and is built without network, so nothing is fetched by mistake.
# async-timeout is listed because redis needs it on the base's Python 3.11.2 (< 3.11.3).
# Elsewhere `docker build .` alone builds it, from PyPI and the npm registry.
OFFLINE := docker/offline
image: setup frontend
	rm -rf $(OFFLINE)/wheelhouse $(OFFLINE)/bun $(OFFLINE)/bun-cache
	$(BIN)/python -m pip wheel --quiet --disable-pip-version-check --wheel-dir $(OFFLINE)/wheelhouse \
	  . pip "setuptools>=69" wheel async-timeout
	rm -f $(OFFLINE)/wheelhouse/rl_arena-*.whl
	cp "$$(readlink -f $(BUN))" $(OFFLINE)/bun
	cp -al .tools/bun-home/install/cache $(OFFLINE)/bun-cache 2>/dev/null \
	  || cp -a .tools/bun-home/install/cache $(OFFLINE)/bun-cache
	docker build --quiet --network none --build-arg BASE=$$($(BIN)/python -c \
	  "from rl_arena_app.settings import get_settings; print(get_settings().agent_base_image)") \
	  -t $(APP_IMAGE) .

run: setup
	$(BIN)/rl-arena up

test: test-setup
	$(BIN)/ruff check .
	$(BIN)/pytest

# A few minutes, no Docker engine and no browser: everything but the docker, e2e and slow tests.
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -m "not docker and not e2e and not slow"

bench: setup
	$(BIN)/python bench/arena_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .tools .web
