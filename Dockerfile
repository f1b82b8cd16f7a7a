# The RL Arena app image (web, worker, scheduler, migrate): builds without any registry.
#
# Offline (CI, machines without Docker Hub): the base is the debootstrap-built agent base image
# (`rl-arena images build-base`) and every Python package comes from a wheelhouse made on the
# host, so the build itself needs no network:
#   python3 -m pip wheel --wheel-dir build/wheelhouse . pip "setuptools>=69" wheel
#   docker build -t rl-arena/app:dev .
# With Docker Hub: docker build --build-arg BASE=python:3.11-slim -t rl-arena/app:dev .
# The wheelhouse must match the base's Python (3.11) and be built on a glibc Linux host.
ARG BASE=rl-arena/agent-base:1
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/rl-arena/venv \
    PATH=/opt/rl-arena/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    RL_ARENA_DATA_DIR=/data \
    RL_ARENA_SANDBOX_DIR=/var/lib/rl-arena/sandboxes

# Dependencies first (cached until the wheelhouse changes). The base may lack pip and ensurepip
# (Debian's minimal python3): a venv without pip, then pip run straight from its own wheel.
COPY build/wheelhouse/ /tmp/wheels/
RUN set -eu; \
    python3 -m venv --without-pip "$VIRTUAL_ENV"; \
    pip_wheel=$(ls /tmp/wheels/pip-*.whl | head -n 1); \
    deps=$(ls /tmp/wheels/*.whl | grep -v '/rl_arena-'); \
    "$VIRTUAL_ENV/bin/python" "$pip_wheel/pip" install --quiet --no-cache-dir \
        --disable-pip-version-check --no-index --find-links /tmp/wheels $deps; \
    rm -rf /tmp/wheels

# The project, installed editable: alembic/ and alembic.ini stay next to the package, where
# `rl-arena db upgrade` finds them.
WORKDIR /app
COPY pyproject.toml README.md alembic.ini rxconfig.py* ./
COPY alembic/ alembic/
COPY assets/ assets/
# The dashboard's frontend, prebuilt on the host (`make frontend`, for RL_ARENA_PUBLIC_URL): the
# image has no JavaScript toolchain, and `rl-arena web` serves these files as they are.
COPY .web/build/client/ .web/build/client/
COPY jobs/ jobs/
COPY rl_arena_app/ rl_arena_app/
RUN pip install --quiet --no-cache-dir --disable-pip-version-check --no-index \
        --no-deps --no-build-isolation -e /app \
 && python -m compileall -q /app/rl_arena_app /app/jobs \
 && groupadd --system --gid 10001 arena \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin arena \
 && mkdir -p /data "$RL_ARENA_SANDBOX_DIR" \
 && chown arena:arena /data "$RL_ARENA_SANDBOX_DIR"

USER arena
VOLUME ["/data"]
# Everything in one container (embedded Redis, SQLite under /data, the dashboard on :3000);
# compose.yaml runs one service per process instead. Workers need the host's Docker socket.
# Production by default, listening on every interface: a process of the image refuses to start
# until it is given RL_ARENA_SECRET_KEY (32 bytes or more: `openssl rand -hex 32`), an identity
# provider (RL_ARENA_GITHUB_*, RL_ARENA_GOOGLE_* or RL_ARENA_OIDC_*) and RL_ARENA_PUBLIC_URL.
# Development mode must listen on the container's loopback only: it needs both
# -e RL_ARENA_ENV=development and -e RL_ARENA_WEB_HOST=127.0.0.1.
ENV RL_ARENA_ENV=production \
    RL_ARENA_WEB_HOST=0.0.0.0
EXPOSE 3000
CMD ["rl-arena", "up"]
