"""The app image serves any deployment: the public URL is written into its prebuilt frontend at
start, its healthcheck follows the container's command, its install is not editable.

RL_ARENA_APP_IMAGE names the image to test (default rl-arena/app:dev, built by `make image` when
missing), e.g. one built beside a `rl-arena/app:dev` that something else uses.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.integration.test_deployment import APP_IMAGE, PRODUCTION, build_app_image, run_in_image
from tests.support.waiting import wait_for

PUBLIC_URLS = ("http://arena-one.example:8080", "https://arena-two.example.org/arena")


@pytest.fixture(scope="module")
def image(docker_engine) -> str:
    """The app image under test (test_deployment's), built by `make image` when missing."""
    from jobs.images.base import base_image_exists

    if not base_image_exists(docker_engine.client, APP_IMAGE):
        build_app_image()
    return APP_IMAGE


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check,
                          timeout=120)


@contextmanager
def arena_container(image: str, public_url: str) -> Iterator[tuple[str, str]]:
    """`rl-arena up` (the image's command) without workers, for ``public_url``; its name and
    the base URL the host reaches it at."""
    name = f"rl-arena-app-test-{uuid.uuid4().hex[:8]}"
    docker("run", "-d", "--name", name, "-p", "127.0.0.1::3000", *PRODUCTION,
           "-e", f"RL_ARENA_PUBLIC_URL={public_url}", "--health-interval=2s",
           "--health-start-period=120s", image, "rl-arena", "up", "--workers", "0")
    try:
        port = docker("port", name, "3000/tcp").stdout.split(":")[-1].strip()
        yield name, f"http://127.0.0.1:{port}"
    finally:
        docker("rm", "-f", name, check=False)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def health_status(name: str) -> str:
    return json.loads(docker("inspect", "--format", "{{json .State.Health}}", name).stdout)[
        "Status"]


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("public_url", PUBLIC_URLS)
def test_one_image_serves_each_public_url_it_is_given(image: str, public_url: str) -> None:
    with arena_container(image, public_url) as (name, base):
        try:
            wait_for(lambda: answers(f"{base}/"), 240, "the dashboard", poll_s=1)
        except AssertionError:
            raise AssertionError(docker("logs", name, check=False).stderr[-3000:]) from None
        env_script = docker("exec", name, "sh", "-c",
                            "cd /app/.web/build/client && ls assets/reflex-env-*.js").stdout
        served = httpx.get(f"{base}/{env_script.strip()}", timeout=10,
                           headers={"Accept-Encoding": "gzip"})
        assert served.headers.get("content-encoding") == "gzip"  # the remade .gz copy
        assert f"PING:`{public_url}/ping`" in served.text
        ws_url = "ws" + public_url.removeprefix("http")
        assert f"EVENT:`{ws_url}/_event`" in served.text
        assert "localhost:3000" not in served.text
        sitemap = httpx.get(f"{base}/sitemap.xml", timeout=10).text
        assert f"<loc>{public_url}/matches</loc>" in sitemap

        said = docker("exec", name, "rl-arena", "health", check=False)
        assert said.returncode == 0 and said.stdout.strip() == "web: healthy", said.stderr
        deadline = time.monotonic() + 60
        while health_status(name) != "healthy" and time.monotonic() < deadline:
            time.sleep(1)
        assert health_status(name) == "healthy"


@pytest.mark.docker
def test_the_image_installs_the_platform_as_a_package_not_editable(image: str) -> None:
    where = run_in_image(image, "python", "-c",
                         "import jobs.web, rl_arena_app; print(rl_arena_app.__file__); "
                         "print(jobs.web.app_dir())")
    package, app_folder = where.split()
    assert package.startswith("/opt/rl-arena/venv/lib/") and app_folder == "/app"
    listing = run_in_image(image, "sh", "-c", "pip show -f rl-arena; ls -a /app")
    assert not re.search(r"__editable__|\.egg-link", listing)
    assert "rl-arena" in run_in_image(image, "pip", "freeze")
    migrated = run_in_image(image, "rl-arena", "db", "upgrade", docker_args=(
        *PRODUCTION, "-e", "RL_ARENA_DATABASE_URL=sqlite:////tmp/a.db"))
    assert migrated is not None  # exit 0: alembic.ini and alembic/ found in /app


@pytest.mark.docker
def test_the_healthcheck_of_a_container_without_a_platform_process_says_why(
        image: str) -> None:
    said = run_in_image(image, "rl-arena", "health", expect_failure=True)
    assert "this container runs no `rl-arena" in said
    said = run_in_image(image, "rl-arena", "health", "web", expect_failure=True,
                        docker_args=PRODUCTION)
    assert "does not answer http://127.0.0.1:3000/ping" in said
    said = run_in_image(image, "rl-arena", "health", "web", expect_failure=True)
    assert said.startswith("unhealthy: ") and "RL_ARENA_SECRET_KEY" in said
    assert "Traceback" not in said
