"""Shared fixtures: a real Docker engine, a player of runs in it that checks nothing is left,
and the platform (database, Redis, settings). Shared helpers are in tests/support/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rl_arena_app.arena import envs
from rl_arena_app.arena.bundle import AgentBundle
from rl_arena_app.arena.referee import Limits
from rl_arena_app.arena.run import RunResult, play
from tests.support.database import TEST_DATABASE_URL

IN_CI = bool(os.environ.get("CI"))


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker that allows a test to skip in CI."""
    config.addinivalue_line("markers", "may_skip_in_ci(reason): this test may skip in CI, "
                            "because of the reason given")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by the markers added here
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: the quick tests fail first, and the e2e package's platform and
    Playwright loop (torn down with the package) never overlap the other tests. Tests that use
    the Docker engine or the browser are marked so (`make test-fast` leaves them out)."""
    e2e = Path(__file__).parent / "e2e"
    for item in items:
        if e2e in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)
        if "docker_engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.docker)
    items.sort(key=lambda item: e2e in Path(item.path).parents)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """In CI (CI set) a skip is a failure unless the test is marked ``may_skip_in_ci``."""
    outcome = yield
    report = outcome.get_result()
    if not (IN_CI and report.skipped) or hasattr(report, "wasxfail"):
        return
    if item.get_closest_marker("may_skip_in_ci") is not None:
        return
    reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
    report.outcome = "failed"
    report.longrepr = (f"skipped in CI ({reason}): CI must run every test; mark it "
                       "@pytest.mark.may_skip_in_ci(reason=...) if it truly cannot run there")


@pytest.fixture(scope="session")
def docker_engine():
    """The real Docker engine, with the agent base image; fails loudly when it is not there."""
    from jobs.images.base import base_image_exists
    from jobs.sandbox.docker import DockerEngine
    from rl_arena_app.errors import InfrastructureError
    from rl_arena_app.settings import get_settings

    try:
        engine = DockerEngine()
    except InfrastructureError as exc:
        pytest.fail(f"{exc} (docker tests need it: `make setup` starts one as root)")
    if not base_image_exists(engine.client, get_settings().agent_base_image):
        pytest.fail("agent base image missing: run `rl-arena images build-base`")
    return engine


@pytest.fixture(autouse=True)
def close_warm_sandboxes() -> Iterator[None]:
    """Each test starts without warm sandboxes from an earlier one, and leaves none open."""
    from jobs.sandbox.pool import close_pools

    yield
    close_pools()


@pytest.fixture
def docker_mode() -> str:
    """How docker_play runs agents: in warm sandboxes, the default (a module may override this
    fixture to run cold ones too)."""
    return "warm"


@pytest.fixture
def docker_play(docker_engine, docker_mode) -> Iterator:
    """Play a run in Docker; afterwards assert this process left no container behind."""
    from functools import partial

    from jobs.images.agent import ensure_agent_image
    from jobs.sandbox.docker import DockerHost, DockerSandbox, owner_tag
    from jobs.sandbox.pool import SandboxPool
    from jobs.sandbox.warm import WarmSandbox
    from rl_arena_app.settings import get_settings

    settings = get_settings()
    pool = SandboxPool(capacity=4)

    def sandbox(image: str) -> Any:
        if docker_mode == "cold":
            return DockerSandbox(docker_engine, image)
        return WarmSandbox(pool, image, partial(DockerHost, docker_engine, image), image)

    def run(env_id: str, bundles: list[AgentBundle], *, seed: int = 0,
            limits: Limits | None = None, games: int | None = None,
            episodes: int | None = None) -> RunResult:
        spec = envs.spec(env_id)
        images = [ensure_agent_image(docker_engine.client, b, settings.agent_base_image,
                                     settings.agent_python_version) for b in bundles]
        factories = [partial(sandbox, image) for image in images]
        return play(spec, factories, [b.ref for b in bundles], sandbox="docker", seed=seed,
                    limits=limits or Limits.for_env(spec), games=games, episodes=episodes)

    yield run
    pool.close_all()
    docker_engine.drain()
    left = docker_engine.managed_containers(owner=owner_tag())
    assert not left, f"containers left behind: {[c.name for c in left]}"


# ------------------------------------------------------------------ platform: DB, Redis, settings



@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[str]:
    """A real redis-server (REDIS_URL if set, else the embedded one) for the whole session."""
    from jobs.redis_server import EmbeddedRedis

    if url := os.environ.get("REDIS_URL"):
        yield url
        return
    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture(scope="session")
def _migrated_test_database() -> str | None:
    """Migrate the shared test database (PostgreSQL in CI) once per session."""
    if TEST_DATABASE_URL is None:
        return None
    from rl_arena_app.db.migrate import downgrade, upgrade

    downgrade(TEST_DATABASE_URL)
    upgrade(TEST_DATABASE_URL)
    return TEST_DATABASE_URL


@pytest.fixture
def platform(tmp_path, monkeypatch, redis_server, _migrated_test_database) -> Iterator:
    """Settings on a private data dir, a migrated empty database and an empty Redis."""
    import redis as redis_lib
    from sqlmodel import SQLModel

    from rl_arena_app.db.migrate import upgrade
    from rl_arena_app.db.session import engine_for
    from rl_arena_app.settings import get_settings

    data_dir = tmp_path / "arena"
    url = _migrated_test_database or f"sqlite:///{tmp_path / 'arena.db'}"
    monkeypatch.setenv("RL_ARENA_DATA_DIR", str(data_dir))
    monkeypatch.setenv("RL_ARENA_DATABASE_URL", url)
    monkeypatch.setenv("RL_ARENA_REDIS_URL", redis_server)
    get_settings.cache_clear()
    if _migrated_test_database is None:
        upgrade(url)
    else:
        _truncate_all(engine_for(url), SQLModel.metadata)
    redis_lib.Redis.from_url(redis_server).flushdb()
    yield get_settings()
    get_settings.cache_clear()


def _truncate_all(engine, metadata) -> None:
    """Empty every table of a shared PostgreSQL test database, ids restarting at 1."""
    import rl_arena_app.db.models  # noqa: F401

    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
