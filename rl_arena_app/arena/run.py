"""A whole run: a duel of N games with alternating seats, or K solo episodes on seeds derived
from a run seed (practice, validation) or given (a season's secret scoring seeds)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rl_arena_app.arena.envs import EnvSpec
from rl_arena_app.arena.referee import (
    GameRecord,
    Limits,
    Seat,
    close_seats,
    derive_seed,
    forfeited_before_start,
    play_game,
    start_seats,
)
from rl_arena_app.arena.sandbox import SandboxFactory
from rl_arena_app.arena.scoring_seeds import EpisodeSeeds

REPLAY_FORMAT = "rl-arena-replay"
REPLAY_VERSION = 1
# Told (games or episodes done, how many in all) after each one: a progress bar's feed.
RunProgress = Callable[[int, int], None]


def _no_progress(done: int, total: int) -> None:
    """Report nothing."""


@dataclass
class RunResult:
    """The records of a run plus what identifies it; renders the CLI summary and the replay."""

    env: EnvSpec
    seed: int
    sandbox: str
    refs: list[str]
    images: list[str | None]
    limits: Limits
    games: list[GameRecord]
    duration_s: float
    season: int | None = None  # a solo scoring run: the season whose secret seeds it played

    def _agents(self) -> list[dict[str, Any]]:
        return [{"ref": r, "image": i} for r, i in zip(self.refs, self.images, strict=True)]

    def _header(self) -> dict[str, Any]:
        season = {} if self.season is None else {"season": self.season}
        return {"env": self.env.id, "env_version": self.env.version, "seed": self.seed,
                **season, "sandbox": self.sandbox, "agents": self._agents()}

    def summary(self) -> dict[str, Any]:
        """The `rl-arena play --json` object."""
        if self.env.kind == "duel":
            return {**self._header(), "games": [duel_game_summary(g) for g in self.games],
                    "points": self.points(), "duration_s": round(self.duration_s, 4)}
        returns = [g.returns[0] for g in self.games]
        return {**self._header(), "episodes": [solo_episode_summary(g) for g in self.games],
                "mean_return": statistics.fmean(returns) if returns else 0.0,
                "std_return": statistics.pstdev(returns) if returns else 0.0,
                "duration_s": round(self.duration_s, 4)}

    def points(self) -> list[float]:
        """Duel points per agent: win 1, draw 1/2, loss or forfeit 0."""
        points = [0.0, 0.0]
        for game in self.games:
            if game.winner is not None:
                points[game.winner] += 1.0
            elif game.forfeit is None:
                points[0] += 0.5
                points[1] += 0.5
        return points

    def replay(self) -> dict[str, Any]:
        """Everything needed to audit and re-render the run."""
        return {"format": REPLAY_FORMAT, "format_version": REPLAY_VERSION, "kind": self.env.kind,
                **self._header(), "limits": vars(self.limits),
                "games": [g.to_replay() for g in self.games]}


def duel_game_summary(game: GameRecord) -> dict[str, Any]:
    """One duel game in the CLI's JSON shape."""
    outcome = "forfeit" if game.forfeit else "draw" if game.winner is None else "win"
    return {"first": game.seat_agents[0], "outcome": outcome, "winner": game.winner,
            "forfeit": game.forfeit.to_json() if game.forfeit else None,
            "steps": len(game.steps), "duration_s": round(game.duration_s, 6)}


def solo_episode_summary(game: GameRecord) -> dict[str, Any]:
    """One solo episode in the CLI's JSON shape."""
    outcome = "forfeit" if game.forfeit else "truncated" if game.truncated else "done"
    return {"seed": game.seed, "return": game.returns[0], "steps": len(game.steps),
            "outcome": outcome, "forfeit": game.forfeit.to_json() if game.forfeit else None}


def play_duel(
    env: EnvSpec,
    factories: Sequence[SandboxFactory],
    *,
    games: int,
    seed: int,
    limits: Limits,
    progress: RunProgress = _no_progress,
) -> tuple[list[GameRecord], list[str | None]]:
    """Play `games` games between two agents, alternating who moves first."""
    seats = [Seat(i, f, limits) for i, f in enumerate(factories)]
    game = env.factory()
    records = []
    try:
        for index in range(games):
            first = index % 2
            order = [seats[first], seats[1 - first]]
            record = GameRecord(index, derive_seed(seed, index), [first, 1 - first],
                                [derive_seed(seed, index, s.agent) for s in order])
            start_seats(seats)
            if any(s.dead for s in seats):
                records.append(forfeited_before_start(record, order))
            else:
                records.append(play_game(env, game, order, record, limits))
            progress(index + 1, games)
    finally:
        close_seats(seats)
    return records, [s.images[0] if s.images else None for s in seats]


def derived_episode_seeds(seed: int, episodes: int) -> list[EpisodeSeeds]:
    """The public episodes of a run seed (practice, validation before secret seeds)."""
    return [EpisodeSeeds(derive_seed(seed, index), derive_seed(seed, index, 0))
            for index in range(episodes)]


def play_solo(
    env: EnvSpec, factory: SandboxFactory, *, episode_seeds: Sequence[EpisodeSeeds],
    limits: Limits, progress: RunProgress = _no_progress,
) -> tuple[list[GameRecord], list[str | None]]:
    """Run one episode per seed pair; a forfeit scores the worst return."""
    seat = Seat(0, factory, limits)
    game = env.factory()
    records = []
    episodes = len(episode_seeds)
    try:
        for index, seeds in enumerate(episode_seeds):
            record = GameRecord(index, seeds.env_seed, [0], [seeds.agent_seed])
            start_seats([seat])
            if seat.dead:
                forfeited_before_start(record, [seat])
            else:
                play_game(env, game, [seat], record, limits)
            if record.forfeit is not None:
                record.returns = [env.worst_return]
            records.append(record)
            progress(index + 1, episodes)
    finally:
        close_seats([seat])
    return records, [seat.images[0] if seat.images else None]


def play(
    env: EnvSpec,
    factories: Sequence[SandboxFactory],
    refs: Sequence[str],
    *,
    sandbox: str,
    seed: int,
    limits: Limits,
    games: int | None = None,
    episodes: int | None = None,
    progress: RunProgress = _no_progress,
    episode_seeds: Sequence[EpisodeSeeds] | None = None,
    season: int | None = None,
) -> RunResult:
    """Play a duel or a solo run, whichever the environment is; ``progress`` hears after each
    game or episode. A solo run plays ``episode_seeds`` when given (a season's scoring run),
    else episodes derived from ``seed``."""
    started = time.perf_counter()
    if env.kind == "duel":
        records, images = play_duel(env, factories, games=games or env.games, seed=seed,
                                    limits=limits, progress=progress)
    else:
        if episode_seeds is None:
            episode_seeds = derived_episode_seeds(seed, episodes or env.episodes)
        records, images = play_solo(env, factories[0], episode_seeds=episode_seeds,
                                    limits=limits, progress=progress)
    return RunResult(env, seed, sandbox, list(refs), images, limits, records,
                     time.perf_counter() - started, season)
