# The RL Arena app image (web, worker, scheduler, migrate), in two stages: the build stage makes
# the wheels and the dashboard's frontend, the runtime stage keeps the installed platform and the
# built frontend, nothing to build them with.
#
# Anywhere Docker reaches PyPI and the npm registry, from a clean checkout:
#   docker build -t rl-arena/app:dev .          (or `docker compose build`)
# Offline (CI, machines without Docker Hub), `make image` puts the host's wheelhouse, bun and the
# frontend's packages into docker/offline/ and builds on the agent base image, without network:
#   docker build --build-arg BASE=rl-arena/agent-base:2 -t rl-arena/app:dev .
# BASE is any Debian-like image with Python 3.11 and python3 -m venv (pip optional): both stages
# use it, so the venv built in the first runs unchanged in the second.
#
# Only the classic builder's features (no BuildKit): every stage is built, every FROM is an ARG.
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
ARG BUN_VERSION=1.4.5
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    LANG=C.UTF-8 \
    VIRTUAL_ENV=/opt/rl-arena/venv \
    PATH=/opt/rl-arena/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    REFLEX_TELEMETRY_ENABLED=false \
    BUN_VERSION=${BUN_VERSION}
COPY docker/ /src/docker/
COPY pyproject.toml README.md /src/
COPY rl_arena_app/ /src/rl_arena_app/
COPY jobs/ /src/jobs/
# The app folder: what `rl-arena web` and `rl-arena db upgrade` read besides the package.
WORKDIR /app
COPY rxconfig.py alembic.ini ./
COPY alembic/ alembic/
COPY assets/ assets/
COPY reflex.lock/ reflex.lock/
RUN sh /src/docker/build-stage.sh

FROM ${BASE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/rl-arena/venv \
    PATH=/opt/rl-arena/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    RL_ARENA_DATA_DIR=/data \
    RL_ARENA_SANDBOX_DIR=/var/lib/rl-arena/sandboxes
RUN groupadd --system --gid 10001 arena \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin arena \
 && mkdir -p /data "$RL_ARENA_SANDBOX_DIR" /app/.web/build /app/uploaded_files \
 && chown arena:arena /data "$RL_ARENA_SANDBOX_DIR" /app/.web /app/.web/build /app/uploaded_files
# The platform, installed (not editable) in the build stage's venv.
COPY --from=build /opt/rl-arena/venv/ /opt/rl-arena/venv/
# Object storage over HTTPS needs the system's CA bundle (obstore reads it, not certifi's); a
# base without one (the agent base: Debian minbase) gets certifi's Mozilla bundle in its place.
RUN [ -s /etc/ssl/certs/ca-certificates.crt ] || { mkdir -p /etc/ssl/certs \
    && ln -s "$(python -c 'import certifi; print(certifi.where())')" \
       /etc/ssl/certs/ca-certificates.crt; }
WORKDIR /app
COPY --from=build /app/rxconfig.py /app/alembic.ini ./
COPY --from=build /app/alembic/ alembic/
COPY --from=build /app/assets/ assets/
# .web belongs to arena: `rl-arena web` writes RL_ARENA_PUBLIC_URL into the built frontend at
# start (jobs/frontend_url.py), so one image serves any deployment, and Reflex writes its
# .web/backend there; uploaded_files/ is where Reflex takes uploads.
COPY --from=build --chown=10001:10001 /app/.web/build/client/ .web/build/client/

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
# The role of the container's command (web, worker, scheduler; `up`: its web) is checked.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["rl-arena", "health"]
CMD ["rl-arena", "up"]
