"""Deployment: compose.yaml's shape, its validation by Compose, and the app image.

The app image is built by .ci/run (offline: debootstrap base + host wheelhouse); locally the
`app_image` fixture builds it the same way when it is missing (RL_ARENA_APP_IMAGE names another
tag to test, e.g. one built beside a `rl-arena/app:dev` that something else uses).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
APP_IMAGE = os.environ.get("RL_ARENA_APP_IMAGE", "rl-arena/app:dev")
APP_SERVICES = ("migrate", "scheduler", "worker", "web")
# What compose needs in .env; dummy values suffice to validate the file.
COMPOSE_ENV = {"RL_ARENA_SECRET_KEY": "test-secret", "POSTGRES_PASSWORD": "test-password",
               "DOCKER_GID": "999"}
# What a deployment gives the image, which runs in production by default: a secret of 32 bytes
# or more and an identity provider (never asked here: nothing in these containers logs in).
PRODUCTION = ("-e", f"RL_ARENA_SECRET_KEY={'ab' * 32}", "-e", "RL_ARENA_OIDC_ISSUER=http://sso.invalid",
              "-e", "RL_ARENA_OIDC_CLIENT_ID=rl-arena", "-e", "RL_ARENA_OIDC_CLIENT_SECRET=unused",
              "-e", "RL_ARENA_PUBLIC_URL=http://localhost:3000")


@pytest.fixture(scope="module")
def compose() -> dict:
    """compose.yaml, parsed."""
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def test_compose_has_the_platform_services(compose: dict) -> None:
    """web, worker, scheduler, redis, postgres and the one-shot migration, with volumes."""
    services = compose["services"]
    assert {"web", "worker", "scheduler", "redis", "postgres", "migrate"} <= set(services)
    # The official images unless the offline stand-ins are chosen (`make stack-images`).
    assert services["redis"]["image"] == "${REDIS_IMAGE:-redis:7}"
    assert services["postgres"]["image"] == "${POSTGRES_IMAGE:-postgres:16}"
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    assert {"arena-data", "postgres-data", "redis-data"} <= set(compose["volumes"])
    assert services["migrate"]["command"] == ["rl-arena", "db", "upgrade", "--seed"]
    assert services["scheduler"]["command"] == ["rl-arena", "scheduler"]
    assert "rl-arena worker" in " ".join(services["worker"]["command"])


def test_app_services_run_in_production_after_migrations(compose: dict) -> None:
    """Every app service shares the data volume, runs production settings, waits for migrate."""
    services = compose["services"]
    for name in APP_SERVICES:
        service = services[name]
        env = service["environment"]
        assert env["RL_ARENA_ENV"] == "production", name
        assert env["RL_ARENA_SANDBOX"] == "docker", name
        # This project's data stores unless .env names a data host's (workers elsewhere).
        assert env["RL_ARENA_DATABASE_URL"].startswith(
            "${RL_ARENA_DATABASE_URL:-postgresql+psycopg://"), name
        assert "@postgres:5432/" in env["RL_ARENA_DATABASE_URL"], name
        assert env["REDIS_URL"] == "${REDIS_URL:-redis://redis:6379/0}", name
        assert "RL_ARENA_SECRET_KEY" in env, name
        assert "arena-data:/data" in service["volumes"], name
        if name != "migrate":
            assert service["depends_on"]["migrate"]["condition"] == \
                "service_completed_successfully", name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "build" in services["migrate"]


def test_web_is_a_real_service_on_the_dashboards_port(compose: dict) -> None:
    """`docker compose up` starts the dashboard (no profile), listening on every interface of
    the compose network, reached only through the proxy on RL_ARENA_WEB_PORT."""
    services = compose["services"]
    web, proxy = services["web"], services["proxy"]
    assert "profiles" not in web
    assert web["command"] == ["rl-arena", "web"]
    assert "ports" not in web, "replicas cannot share a host port: the proxy publishes it"
    assert web["environment"]["RL_ARENA_WEB_HOST"] == "0.0.0.0"
    assert web["environment"]["RL_ARENA_WEB_PORT"] == "3000"
    assert proxy["image"] == "${PROXY_IMAGE:-nginx:1.27}"
    assert proxy["ports"] == ["${RL_ARENA_WEB_PORT:-3000}:8080"]
    config = ROOT / proxy["volumes"][0].split(":")[0]
    assert "proxy_pass http://$web_replicas:3000" in config.read_text(encoding="utf-8")


def test_every_long_running_service_has_a_healthcheck(compose: dict) -> None:
    """`up --wait` and restarts rely on health: the data stores, web's /ping, a worker's
    heartbeat, the scheduler's tick."""
    services = compose["services"]
    for name in ("postgres", "redis", "scheduler", "worker", "web"):
        assert services[name]["healthcheck"]["test"], name
    for role in ("scheduler", "worker", "web"):
        assert services[role]["healthcheck"]["test"] == ["CMD", "rl-arena", "health", role]


def test_workers_reach_the_host_engine_and_share_socket_paths(compose: dict) -> None:
    """Workers mount the Docker socket, and the sandbox folder at the same path as the host's."""
    worker = compose["services"]["worker"]
    assert "/var/run/docker.sock:/var/run/docker.sock" in worker["volumes"]
    host, _, container = next(v for v in worker["volumes"]
                              if v.startswith("${RL_ARENA_HOST_SANDBOX_DIR")).partition("}:")
    assert f"{host}}}" == container, "the sandbox folder must be mounted at the host's own path"
    assert "RL_ARENA_SANDBOX_DIR" in " ".join(worker["command"])
    assert worker.get("group_add"), "the non-root worker needs the socket's group"
    assert "replicas" not in worker.get("deploy", {}), "scale with --scale worker=N"
    assert "container_name" not in worker, "a fixed name prevents --scale"


def compose_command() -> list[str] | None:
    """`docker compose` (Compose v2: `make compose` installs it), if it works here."""
    if shutil.which("docker"):
        done = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if done.returncode == 0:
            return ["docker", "compose"]
    return None


def test_compose_file_is_valid_for_compose(tmp_path: Path) -> None:
    """Compose itself accepts the file, given the required .env values."""
    command = compose_command()
    if command is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but `docker compose` does not work (.ci/run installs it "
                        "with jobs/images/ensure-compose.sh)")
        pytest.skip("no Compose v2 to validate with: `make compose` installs it")
    env = {**os.environ, **COMPOSE_ENV}
    # No .env: only the values given here, so a developer's own .env cannot change the outcome.
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    base = [*command, "--project-directory", str(ROOT), "--env-file", str(empty_env_file),
            "-f", str(COMPOSE_FILE)]
    done = subprocess.run([*base, "config", "-q"], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    services = subprocess.run([*base, "config", "--services"], env=env,
                              capture_output=True, text=True, check=True).stdout.split()
    assert {"web", "worker", "scheduler", "redis", "postgres", "migrate"} <= set(services)
    missing = {k: v for k, v in env.items() if k != "RL_ARENA_SECRET_KEY"}
    done = subprocess.run([*base, "config", "-q"], env=missing, capture_output=True,
                          text=True, check=False)
    assert done.returncode != 0 and "RL_ARENA_SECRET_KEY" in done.stderr, \
        "compose must refuse to start without a secret key"


# ------------------------------------------------------------------------- the app image

def build_app_image() -> None:
    """The offline build .ci/run does (`make image`: host wheelhouse, then `docker build`),
    tagged APP_IMAGE."""
    subprocess.run(["make", "--no-print-directory", "image", f"APP_IMAGE={APP_IMAGE}"],
                   check=True, cwd=ROOT)


@pytest.fixture(scope="module")
def app_image(docker_engine) -> str:
    """The app image: built by .ci/run in CI, built here when missing."""
    from jobs.images.base import base_image_exists

    if not base_image_exists(docker_engine.client, APP_IMAGE):
        if os.environ.get("CI"):
            pytest.fail(f"{APP_IMAGE} missing: .ci/run builds it before the tests")
        build_app_image()
    return APP_IMAGE


def run_in_image(image: str, *args: str, docker_args: tuple[str, ...] = (),
                 expect_failure: bool = False) -> str:
    """Run a command in a throwaway container of ``image``; its stdout (its output, stderr
    included, when it is expected to fail)."""
    done = subprocess.run(["docker", "run", "--rm", *docker_args, image, *args],
                          capture_output=True, text=True, check=False, timeout=240)
    if expect_failure:
        assert done.returncode != 0, done.stdout
        return done.stderr + done.stdout
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


@pytest.mark.docker
def test_app_image_runs_the_cli_as_a_non_root_user(app_image: str) -> None:
    """The image's `rl-arena` knows the platform commands; nothing runs as root."""
    help_text = run_in_image(app_image, "rl-arena", "--help")
    for command in ("up", "worker", "scheduler", "db"):
        assert f"  {command} " in help_text, command
    assert run_in_image(app_image, "id", "-u").strip() == "10001"
    run_in_image(app_image, "pip", "check")
    migrations = run_in_image(app_image, "python", "-c",
                              "from rl_arena_app.db.migrate import upgrade; upgrade(); print('ok')",
                              docker_args=(*PRODUCTION,
                                           "-e", "RL_ARENA_DATABASE_URL=sqlite:////tmp/a.db"))
    assert migrations.strip().endswith("ok")


@pytest.mark.docker
def test_app_image_runs_in_production_and_says_what_it_is_missing(app_image: str) -> None:
    """Started as it comes, the image refuses: no secret, no identity provider, both named."""
    said = run_in_image(app_image, "rl-arena", "web", expect_failure=True)
    assert "RL_ARENA_SECRET_KEY" in said and "openssl rand -hex 32" in said
    assert "identity provider" in said and "RL_ARENA_OIDC_ISSUER" in said
    assert "Traceback" not in said

    short = run_in_image(app_image, "rl-arena", "web", expect_failure=True,
                         docker_args=(*PRODUCTION, "-e", "RL_ARENA_SECRET_KEY=short"))
    assert "at least 32 bytes" in short and "Traceback" not in short


@pytest.mark.docker
def test_app_image_in_development_refuses_to_listen_on_every_interface(app_image: str) -> None:
    """Development conveniences (default secret, open development login) stay on loopback."""
    said = run_in_image(app_image, "rl-arena", "web", expect_failure=True,
                        docker_args=("-e", "RL_ARENA_ENV=development"))
    assert "RL_ARENA_WEB_HOST" in said and "127.0.0.1" in said
    assert "RL_ARENA_ENV=production" in said and "Traceback" not in said


@pytest.mark.docker
@pytest.mark.slow
def test_app_container_plays_a_duel_through_the_host_engine(app_image: str, tmp_path) -> None:
    """As a compose worker does: the host's socket, a same-path sandbox folder, agents in Docker."""
    from rl_arena_app.settings import get_settings

    sandbox_root = Path(get_settings().sandbox_dir) / f"app-image-{uuid.uuid4().hex[:8]}"
    sandbox_root.mkdir(parents=True)
    if os.geteuid() == 0:  # the image's user (uid 10001) makes its socket folders in there
        os.chown(sandbox_root, 10001, 10001)
        os.chmod(sandbox_root, 0o711)
    else:
        os.chmod(sandbox_root, 0o777)
    socket_gid = os.stat("/var/run/docker.sock").st_gid
    try:
        out = run_in_image(
            app_image, "rl-arena", "play", "tictactoe", "builtin:minimax", "builtin:random",
            "--sandbox", "docker", "--games", "2", "--json",
            docker_args=(*PRODUCTION, "--init", "--group-add", str(socket_gid),
                         "-v", "/var/run/docker.sock:/var/run/docker.sock",
                         "-v", f"{sandbox_root}:{sandbox_root}",
                         "-e", f"RL_ARENA_SANDBOX_DIR={sandbox_root}",
                         "-e", f"RL_ARENA_AGENT_BASE_IMAGE={get_settings().agent_base_image}"))
    finally:
        shutil.rmtree(sandbox_root, ignore_errors=True)
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["sandbox"] == "docker"
    assert len(summary["games"]) == 2
    assert all(game["forfeit"] is None for game in summary["games"]), summary
