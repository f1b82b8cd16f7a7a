"""Shared fixtures: a real Docker engine, helpers to play runs and to check nothing is left."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rl_arena_app.arena import envs
from rl_arena_app.arena.bundle import AgentBundle, load_bundle
from rl_arena_app.arena.referee import Limits
from rl_arena_app.arena.run import RunResult, play

AGENTS_DIR = Path(__file__).parent / "agents"


def bundle_from_source(source: str, ref: str = "test-agent") -> AgentBundle:
    """An agent bundle made of a single agent.py."""
    return AgentBundle(ref=ref, files={"agent.py": source.encode()})


def builtin(name: str, env_id: str) -> AgentBundle:
    """A built-in agent's bundle."""
    return load_bundle(f"builtin:{name}", env_id=env_id)


@pytest.fixture(scope="session")
def docker_engine():
    """The real Docker engine, with the agent base image; fails loudly when it is not there."""
    from jobs.images.base import base_image_exists
    from jobs.sandbox.docker import DockerEngine
    from rl_arena_app.arena.outcomes import InfrastructureError
    from rl_arena_app.settings import get_settings

    try:
        engine = DockerEngine()
    except InfrastructureError as exc:
        pytest.fail(f"{exc} (docker tests need it: `make setup` starts one as root)")
    if not base_image_exists(engine.client, get_settings().agent_base_image):
        pytest.fail("agent base image missing: run `rl-arena images build-base`")
    return engine


@pytest.fixture
def docker_play(docker_engine) -> Iterator:
    """Play a run in Docker; afterwards assert this process left no container behind."""
    from jobs.images.agent import ensure_agent_image
    from jobs.sandbox.docker import DockerSandbox, owner_tag
    from rl_arena_app.settings import get_settings

    settings = get_settings()

    def run(env_id: str, bundles: list[AgentBundle], *, seed: int = 0,
            limits: Limits | None = None, games: int | None = None,
            episodes: int | None = None) -> RunResult:
        spec = envs.spec(env_id)
        images = [ensure_agent_image(docker_engine.client, b, settings.agent_base_image,
                                     settings.agent_python_version) for b in bundles]
        factories = [lambda image=image: DockerSandbox(docker_engine, image) for image in images]
        return play(spec, factories, [b.ref for b in bundles], sandbox="docker", seed=seed,
                    limits=limits or Limits.for_env(spec), games=games, episodes=episodes)

    yield run
    docker_engine.drain()
    left = docker_engine.managed_containers(owner=owner_tag())
    assert not left, f"containers left behind: {[c.name for c in left]}"
