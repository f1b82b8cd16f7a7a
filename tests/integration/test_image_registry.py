"""RL_ARENA_IMAGE_REGISTRY: workers on several hosts share agents' images through a registry.

The registry is Debian's docker-registry (the distribution project's registry 2.8) on loopback,
which Docker's engine may use over plain HTTP. A host that builds an image pushes it; a host
without it pulls it instead of building; a registry that is down costs a build, not a failure.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jobs.images.agent import ensure_agent_image
from rl_arena_app.settings import get_settings
from tests.support.agents import bundle_from_source
from tests.support.waiting import wait_for

pytestmark = pytest.mark.docker

REGISTRY_CONFIG = """\
version: 0.1
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """A registry on a loopback port; its name as RL_ARENA_IMAGE_REGISTRY gives it."""
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.skip("Debian's docker-registry is not installed (apt-get install docker-registry)")
    port = free_port()
    config = tmp_path / "registry.yml"
    config.write_text(REGISTRY_CONFIG.format(root=tmp_path / "blobs", port=port))
    log = (tmp_path / "registry.log").open("wb")
    server = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    try:
        wait_for(lambda: server.poll() is not None or answers(f"http://127.0.0.1:{port}/v2/"),
                 30, "the registry to answer")
        assert server.poll() is None, (tmp_path / "registry.log").read_text()
        yield f"127.0.0.1:{port}/arena-test"
    finally:
        server.terminate()
        server.wait(10)


def remote_versions(registry: str) -> list[str]:
    host, _, path = registry.partition("/")
    listed = httpx.get(f"http://{host}/v2/{path}/rl-arena/agent/tags/list", timeout=10)
    return listed.json().get("tags") or [] if listed.status_code == 200 else []


def test_a_built_image_is_pushed_and_another_host_pulls_it_instead_of_building(
        docker_engine, registry):
    client = docker_engine.client
    bundle = bundle_from_source(f"# {time.time_ns()}\ndef act(observation, info):\n    return 0\n")
    settings = get_settings()
    steps: list[str] = []
    tag = ensure_agent_image(client, bundle, settings.agent_base_image, "3.11", steps.append,
                             registry=registry)
    try:
        assert any(step.startswith("building image") for step in steps), steps
        assert tag.partition(":")[2] in remote_versions(registry)
        assert f"{registry}/{tag}" not in {t for i in client.images.list() for t in i.tags}

        client.images.remove(tag)  # another host: the image is not in its engine
        steps.clear()
        assert ensure_agent_image(client, bundle, settings.agent_base_image, "3.11",
                                  steps.append, registry=registry) == tag
        assert steps == [f"pulled image {tag} for {bundle.ref} from the registry"]
        assert client.images.get(tag).labels["rl-arena.agent"] == bundle.ref
    finally:
        client.images.remove(tag, force=True)


def test_a_registry_that_is_down_costs_a_build_not_a_failure(docker_engine, caplog):
    client = docker_engine.client
    bundle = bundle_from_source(f"# {time.time_ns()}\ndef act(observation, info):\n    return 1\n")
    steps: list[str] = []
    down = f"127.0.0.1:{free_port()}/nobody-listens"
    tag = ensure_agent_image(client, bundle, get_settings().agent_base_image, "3.11",
                             steps.append, registry=down)
    try:
        assert any(step.startswith("building image") for step in steps), steps
        assert client.images.get(tag)
        warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert any("pulling" in w for w in warnings) and any("pushing" in w for w in warnings)
    finally:
        client.images.remove(tag, force=True)


def test_the_registry_setting_is_checked():
    from pydantic import ValidationError

    from rl_arena_app.settings import Settings

    assert Settings(image_registry=" registry.example.org:5000/arena/ ").image_registry == \
        "registry.example.org:5000/arena"
    assert Settings(image_registry="").image_registry is None
    for bad in ("https://registry.example.org", "user:pw@registry", "Registry/Up", "a b"):
        with pytest.raises(ValidationError, match="RL_ARENA_IMAGE_REGISTRY"):
            Settings(image_registry=bad)
