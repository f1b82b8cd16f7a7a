"""Sandbox runners: turn agent bundles into sandbox factories for one kind of sandbox."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Literal

from jobs.sandbox.pool import SandboxPool, shared_pool
from jobs.sandbox.warm import WarmSandbox
from rl_arena_app.arena.bundle import AgentBundle
from rl_arena_app.arena.sandbox import PreparedAgents, Progress, SandboxRunner
from rl_arena_app.errors import BadInput
from rl_arena_app.settings import Settings, get_settings

if TYPE_CHECKING:
    import docker

SandboxKind = Literal["docker", "process", "inprocess"]


def _docker(bundles: Sequence[AgentBundle], settings: Settings,
            progress: Progress) -> PreparedAgents:
    """Agents in locked-down containers: build (or find) each bundle's image, by content hash."""
    from jobs.images.agent import ensure_agent_image
    from jobs.images.wheels import WheelCache
    from jobs.sandbox.docker import DockerEngine, DockerHost, DockerSandbox

    engine = DockerEngine.shared(settings)
    pool = _warm_pool("docker", settings)

    def image(bundle: AgentBundle) -> str:
        return ensure_agent_image(engine.client, bundle, settings.agent_base_image,
                                  settings.agent_python_version, progress,
                                  WheelCache.of(settings), settings.image_registry)

    # A worker with warm sandboxes plays the same versions over and over: it asks the engine
    # about their images only every IMAGE_RECHECK_S.
    images = [image(b) if pool is None else _CHECKED_IMAGES.get(b, settings, image)
              for b in bundles]
    if pool is None:
        return PreparedAgents([partial(DockerSandbox, engine, image) for image in images],
                              list(images))
    return PreparedAgents([partial(WarmSandbox, pool, image, partial(DockerHost, engine, image),
                                   image) for image in images], list(images))


def _process(bundles: Sequence[AgentBundle], settings: Settings,
             _progress: Progress) -> PreparedAgents:
    """Agents as unprivileged local processes (development only): nothing to build, each agent
    gets a private folder when it launches."""
    from jobs.sandbox.process import ProcessHost, ProcessSandbox, process_key

    pool = _warm_pool("process", settings)
    if pool is None:
        factories = [partial(ProcessSandbox, b, settings) for b in bundles]
    else:
        factories = [partial(WarmSandbox, pool, process_key(b), partial(ProcessHost, b, settings))
                     for b in bundles]
    return PreparedAgents(factories, [None] * len(bundles))


class CheckedImages:
    """Image tags recently found (or built) for bundles, by content and base image."""

    def __init__(self, recheck_s: float) -> None:
        self.recheck_s = recheck_s
        self._tags: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, bundle: AgentBundle, settings: Settings,
            ensure: Callable[[AgentBundle], str]) -> str:
        """The bundle's image tag: remembered if checked within ``recheck_s``, else ``ensure``."""
        key = (settings.agent_base_image, settings.agent_python_version, bundle.digest)
        with self._lock:
            known = self._tags.get(key)
        if known is not None and time.monotonic() - known[1] < self.recheck_s:
            return known[0]
        tag = ensure(bundle)
        with self._lock:
            self._tags[key] = (tag, time.monotonic())
        return tag


# After a base image is rebuilt, new containers use its images at most this much later.
IMAGE_RECHECK_S = 30.0
_CHECKED_IMAGES = CheckedImages(IMAGE_RECHECK_S)


def _warm_pool(kind: SandboxKind, settings: Settings) -> SandboxPool | None:
    """This process's warm sandboxes of ``kind``, None when they are off (or in a fork)."""
    return shared_pool(kind, settings.warm_sandboxes, settings.warm_sandboxes_min_free_mb)


def _inprocess(bundles: Sequence[AgentBundle], _settings: Settings,
               _progress: Progress) -> PreparedAgents:
    """Built-in agents only, inside the referee's process (tests, benchmarks): anything else is
    refused before any game."""
    from jobs.sandbox.inprocess import InProcessSandbox

    for bundle in bundles:
        InProcessSandbox(bundle)
    return PreparedAgents([partial(InProcessSandbox, b) for b in bundles],
                          [None] * len(bundles))


_PREPARE: dict[str, Callable[[Sequence[AgentBundle], Settings, Progress], PreparedAgents]] = {
    "docker": _docker, "process": _process, "inprocess": _inprocess}


@dataclass(frozen=True)
class Runner:
    """The runner of one kind of sandbox (a ``SandboxRunner``)."""

    kind: SandboxKind
    settings: Settings

    def prepare(self, bundles: Sequence[AgentBundle],
                progress: Progress = lambda _: None) -> PreparedAgents:
        """Make each bundle runnable in this kind of sandbox."""
        return _PREPARE[self.kind](bundles, self.settings, progress)


def runner_for(kind: SandboxKind | str, settings: Settings | None = None) -> SandboxRunner:
    """The runner of a sandbox kind; the process sandbox is refused in production."""
    settings = settings or get_settings()
    if kind not in _PREPARE:
        raise BadInput(f"unknown sandbox {kind!r}: use docker, process or inprocess")
    if kind == "process" and settings.production:
        raise BadInput("the process sandbox is refused in production mode "
                       "(RL_ARENA_ENV=production): use --sandbox docker")
    return Runner(kind, settings)  # type: ignore[arg-type]  # checked against _PREPARE


def sandbox_factories(kind: SandboxKind, bundles: Sequence[AgentBundle],
                      settings: Settings | None = None,
                      progress: Progress = lambda _: None) -> tuple[list, list[str | None]]:
    """Factories and images of ``bundles`` in a ``kind`` sandbox (``runner_for(kind).prepare``)."""
    prepared = runner_for(kind, settings).prepare(bundles, progress)
    return prepared.factories, prepared.images


def docker_client(settings: Settings | None = None) -> docker.DockerClient:
    """A client of the Docker engine agent sandboxes use (InfrastructureError if unreachable)."""
    from jobs.sandbox.docker import DockerEngine

    return DockerEngine(settings).client


def sweep_orphans(settings: Settings | None = None) -> list[str]:
    """Remove the sandbox containers and folders that dead processes on this host left behind;
    the names of the containers removed."""
    from jobs.sandbox.docker import DockerEngine

    return DockerEngine(settings).swept  # an engine's start sweeps: a second sweep finds none
