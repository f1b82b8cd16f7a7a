"""Turn agent bundles into sandbox factories for the chosen sandbox kind."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Literal

from rl_arena_app.arena.bundle import AgentBundle
from rl_arena_app.arena.outcomes import BadInput
from rl_arena_app.arena.sandbox import SandboxFactory
from rl_arena_app.settings import Settings, get_settings

SandboxKind = Literal["docker", "process", "inprocess"]


def sandbox_factories(
    kind: SandboxKind,
    bundles: Sequence[AgentBundle],
    settings: Settings | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[list[SandboxFactory], list[str | None]]:
    """Prepare each agent (build its image if needed); return factories and image names."""
    settings = settings or get_settings()
    if kind == "docker":
        from jobs.images.agent import ensure_agent_image
        from jobs.sandbox.docker import DockerEngine, DockerSandbox

        engine = DockerEngine(settings)
        images = [ensure_agent_image(engine.client, b, settings.agent_base_image,
                                     settings.agent_python_version, progress,
                                     settings.data_dir / "wheels") for b in bundles]
        return [partial(DockerSandbox, engine, image) for image in images], list(images)
    if kind == "process":
        from jobs.sandbox.process import ProcessSandbox

        if settings.production:
            raise BadInput("the process sandbox is refused in production mode "
                           "(RL_ARENA_ENV=production): use --sandbox docker")
        return [partial(ProcessSandbox, b, settings) for b in bundles], [None] * len(bundles)
    if kind == "inprocess":
        from jobs.sandbox.inprocess import InProcessSandbox

        for bundle in bundles:
            InProcessSandbox(bundle)  # refuses anything but built-in agents, before any game
        return [partial(InProcessSandbox, b) for b in bundles], [None] * len(bundles)
    raise BadInput(f"unknown sandbox {kind!r}: use docker, process or inprocess")
