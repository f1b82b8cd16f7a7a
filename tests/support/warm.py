"""Duels on warm sandboxes from a pool of the test's own, remembering every host it started."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import docker.errors

from jobs.sandbox.pool import SandboxPool
from jobs.sandbox.process import ProcessHost, process_key, processes_of
from jobs.sandbox.warm import WarmHost, WarmSandbox
from rl_arena_app.arena import envs
from rl_arena_app.arena.bundle import AgentBundle
from rl_arena_app.arena.referee import Limits
from rl_arena_app.arena.run import play
from rl_arena_app.settings import get_settings

ENV = "tictactoe"


class WarmRuns:
    """Plays duels of ``kind`` (docker or process) on one pool; checks at the end that closing
    the pool left no container, process or folder of any host."""

    def __init__(self, kind: str, engine: Any = None, capacity: int = 8) -> None:
        self.kind = kind
        self.engine = engine
        self.pool = SandboxPool(capacity)
        self.hosts: list[WarmHost] = []
        self._containers: list[str] = []
        self._keys: dict[str, str] = {}  # agent ref -> pool key

    def _factory(self, bundle: AgentBundle) -> Callable[[], WarmSandbox]:
        settings = get_settings()
        if self.kind == "docker":
            from jobs.images.agent import ensure_agent_image
            from jobs.sandbox.docker import DockerHost

            key = ensure_agent_image(self.engine.client, bundle, settings.agent_base_image,
                                     settings.agent_python_version)

            def make() -> WarmHost:
                return DockerHost(self.engine, key)
        else:
            key = process_key(bundle)

            def make() -> WarmHost:
                return ProcessHost(bundle, settings)

        self._keys[bundle.ref] = key

        def new_host() -> WarmHost:
            self.hosts.append(make())
            return self.hosts[-1]

        image = key if self.kind == "docker" else None
        return lambda: WarmSandbox(self.pool, key, new_host, image)

    def duel(self, agent: AgentBundle, opponent: AgentBundle, limits: Limits | None = None,
             games: int = 1, seed: int = 0) -> dict[str, Any]:
        """A summary of ``games`` games of ``agent`` (agent 0, first in game 0) and
        ``opponent``; the opponent is never penalised."""
        spec = envs.spec(ENV)
        result = play(spec, [self._factory(agent), self._factory(opponent)],
                      [agent.ref, opponent.ref], sandbox=self.kind, seed=seed,
                      limits=limits or Limits(move_timeout_s=5, time_bank_s=10,
                                              startup_timeout_s=30), games=games)
        self._containers += [h.box.container.id for h in self.hosts  # type: ignore[attr-defined]
                             if self.kind == "docker" and h.box.container is not None]
        summary = result.summary()
        for game in summary["games"]:
            assert not (game["forfeit"] and game["forfeit"]["agent"] == 1), game
        return summary

    def hosts_of(self, agent: AgentBundle) -> int:
        """How many hosts were started for ``agent``."""
        return sum(1 for h in self.hosts if h.key == self._keys[agent.ref])

    def close_and_check(self) -> None:
        """Close the pool; no host may leave anything behind."""
        self.pool.close_all()
        if self.kind == "docker":
            self.engine.drain()
            for ident in set(self._containers):
                try:
                    self.engine.client.containers.get(ident)
                except docker.errors.NotFound:
                    continue
                raise AssertionError(f"container {ident} was left behind")
            return
        for host in self.hosts:
            process = host.process  # type: ignore[attr-defined]
            assert process.directory is not None and not os.path.exists(process.directory)
            if process.uid is not None:
                assert processes_of(process.uid) == [], f"processes of uid {process.uid} left"
