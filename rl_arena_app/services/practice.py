"""Practice runs (`rl-arena play`): agents from files or built-ins on one environment, in the
sandboxes of the runner the caller picks; the result is returned, nothing is stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rl_arena_app.arena import envs
from rl_arena_app.arena.bundle import AgentBundle, load_bundle
from rl_arena_app.arena.faults import fault_summary
from rl_arena_app.arena.onnx_check import check_policy
from rl_arena_app.arena.referee import Limits
from rl_arena_app.arena.replay import write_replay
from rl_arena_app.arena.run import RunProgress, RunResult, play
from rl_arena_app.arena.sandbox import PreparedAgents
from rl_arena_app.errors import BadInput


@dataclass(frozen=True)
class LocalRun:
    """A checked request to play: the environment, its agents loaded, how many games or episodes."""

    env: envs.EnvSpec
    refs: list[str]
    bundles: list[AgentBundle]
    games: int | None
    episodes: int | None

    @property
    def unit(self) -> str:
        """What the run counts: games (a duel) or episodes (a solo task)."""
        return "games" if self.env.kind == "duel" else "episodes"


def check_local_run(env_id: str, refs: Sequence[str], *, games: int | None = None,
                    episodes: int | None = None) -> LocalRun:
    """The run, once the env knows its agents and counts (BadInput saying what to give instead)."""
    env = envs.spec(env_id)
    wanted = 2 if env.kind == "duel" else 1
    if len(refs) != wanted:
        raise BadInput(f"{env.id} is a {env.kind} environment: give exactly {wanted} "
                       f"agent{'s' if wanted > 1 else ''}, got {len(refs)}")
    if env.kind == "duel" and episodes is not None:
        raise BadInput(f"--episodes is for solo environments; {env.id} is a duel: use --games")
    if env.kind == "solo" and games is not None:
        raise BadInput(f"--games is for duels; {env.id} is a solo task: use --episodes")
    bundles = [load_bundle(ref, env_id=env.id) for ref in refs]
    for bundle in bundles:
        check_policy(bundle, env)
    return LocalRun(env, list(refs), bundles, games, episodes)


def play_local_run(run: LocalRun, prepared: PreparedAgents, *, sandbox: str,
                   seed: int | None = None, move_timeout: float | None = None,
                   time_bank: float | None = None, startup_timeout: float | None = None,
                   played: RunProgress = lambda done, total: None) -> RunResult:
    """Play the run with the agents a sandbox runner prepared; ``played`` hears after each game
    or episode. The env's defaults stand for the seed and the limits not given."""
    env = run.env
    limits = Limits.for_env(env, move_timeout, time_bank, startup_timeout)
    return play(env, prepared.factories, run.refs, sandbox=sandbox,
                seed=env.seed if seed is None else seed, limits=limits, games=run.games,
                episodes=run.episodes, progress=played)


def save_replay(path: Path, result: RunResult) -> Path:
    """Write the run's replay (gzip JSON) to ``path``."""
    return write_replay(path, result.replay())


def forfeit_lines(detail: str) -> list[str]:
    """Where and why an agent forfeited, as Python shows it: its own frame and the exception."""
    return fault_summary(detail).splitlines()
