"""Validating a built version: its validation games (against builtin:random) or episodes, and
the verdict: ready, or failed with the submitted agent's forfeit as the reason.

A solo version's validation is its scoring run: the episodes of the env's running season, on
secret seeds (``seasons``). One run, not a public check plus a secret score: a public-seed check
would cost as long again and prove nothing the scoring run does not. What the agent raised or
printed in a secret episode is not part of its verdict while the season runs (a version written
to spy would carry the episodes out in it); a failure to start, before any observation, is.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from rl_arena_app.arena import envs
from rl_arena_app.arena.bundle import load_bundle
from rl_arena_app.arena.faults import fault_line, fault_summary
from rl_arena_app.arena.referee import GameRecord, Limits
from rl_arena_app.arena.run import RunResult, play
from rl_arena_app.arena.sandbox import Progress, SandboxFactory, SandboxRunner
from rl_arena_app.core.text import printable
from rl_arena_app.db.models import SubmissionStatus
from rl_arena_app.services.storage import store_replay
from rl_arena_app.services.submissions.seasons import (
    current_season,
    season_episode_seeds,
    season_run_seed,
)

VALIDATION_OPPONENT = "builtin:random"
_WITHHELD = ("what the agent raised or printed in a secret scoring episode is withheld while the "
             "season runs (it could carry the episode out): run it on public seeds with "
             "`rl-arena play {env} AGENT` to see it")
LOG_TAIL_CHARS = 4000


def validate(submission_id: int, env: envs.EnvSpec, factories: Sequence[SandboxFactory],
             runner: SandboxRunner, progress: Progress) -> dict[str, Any]:
    """Play the built version's validation (``factories``: its prepared sandbox) and return its
    final fields: the verdict, a solo score, the stored replay."""
    refs = [f"submission:{submission_id}"]
    if env.kind == "solo":
        return scoring_fields(score(submission_id, env, factories, runner.kind))
    opponent = load_bundle(VALIDATION_OPPONENT, env_id=env.id)
    factories = [*factories, *runner.prepare([opponent], progress).factories]
    result = play(env, factories, [*refs, VALIDATION_OPPONENT], sandbox=runner.kind,
                  seed=env.seed, limits=Limits.for_env(env), games=env.games)
    return scoring_fields(result)


def score(submission_id: int, env: envs.EnvSpec, factories: Sequence[SandboxFactory],
          sandbox: str) -> RunResult:
    """Play a solo version's scoring run: the episodes of the env's running season."""
    season = current_season(env.id)
    return play(env, factories, [f"submission:{submission_id}"], sandbox=sandbox,
                seed=season_run_seed(env, season), limits=Limits.for_env(env),
                episode_seeds=season_episode_seeds(env, season), season=season)


def scoring_fields(result: RunResult) -> dict[str, Any]:
    """A run's verdict and score with its replay stored: the version's final fields."""
    return {**_verdict(result), "validation_replay": store_replay(result.replay())}


def _verdict(result: RunResult) -> dict[str, Any]:
    """Ready unless the submitted agent (index 0) forfeited; solo runs also get their score."""
    fields: dict[str, Any] = {"status": SubmissionStatus.READY}
    if result.env.kind == "solo":
        returns = [g.returns[0] for g in result.games]
        fields["score_mean"] = statistics.fmean(returns)
        fields["score_std"] = statistics.pstdev(returns)
    forfeit = next((g for g in result.games if g.forfeit and g.forfeit.agent == 0), None)
    if forfeit is not None and _withheld(result, forfeit):
        reason = _reason(result, forfeit, _WITHHELD.format(env=result.env.id))
        fields.update(status=SubmissionStatus.FAILED, reason=reason, log_tail=reason)
    elif forfeit is not None:
        detail = forfeit.forfeit.detail
        log = f"{fault_summary(detail)}\n\n--- full detail ---\n{detail}"
        fields.update(status=SubmissionStatus.FAILED,
                      reason=_reason(result, forfeit, fault_line(detail)),
                      log_tail=shown(log, LOG_TAIL_CHARS, log=True))
    return fields


def _withheld(result: RunResult, game: GameRecord) -> bool:
    """Whether what the agent raised or printed in ``game`` stays hidden: it played a secret
    scoring episode (so its text could carry the episode out), and not only failed to start."""
    return result.season is not None and not game.forfeit.at_start


def _reason(result: RunResult, game: GameRecord, detail: str) -> str:
    """E.g. "validation game 1: crash — SyntaxError: expected ':' (agent.py, line 4)"."""
    what = "game" if result.env.kind == "duel" else "episode"
    return shown(f"validation {what} {game.index + 1}: {game.forfeit.reason} — {detail}", 2000)


def shown(text: str, limit: int, *, log: bool = False) -> str:
    """Failure text as pages, the API and terminals show it: no control or bidi characters,
    one line for a reason; a log tail keeps its lines and its end."""
    return _clip(printable(text, multiline=log), limit, tail=log)


def _clip(text: str, limit: int, *, tail: bool = False) -> str:
    """Text cut to `limit` characters, keeping its start (or its end for a log tail)."""
    if len(text) <= limit:
        return text
    return "…" + text[-(limit - 1):] if tail else text[:limit - 1] + "…"
