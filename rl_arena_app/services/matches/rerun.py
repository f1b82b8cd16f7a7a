"""Re-runs: play a finished match again from its stored seed, environment version and images, and
say whether it came out the same (timings ignored) or where it first differed.

A re-run compares like with like or refuses: the environment's version, the sandbox kind and each
agent's image tag (which follows its code and base image) must be those the replay recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import zip_longest
from typing import Any

from rl_arena_app.arena import envs
from rl_arena_app.arena.referee import Limits
from rl_arena_app.arena.replay import without_timing
from rl_arena_app.arena.run import play
from rl_arena_app.arena.sandbox import SandboxRunner
from rl_arena_app.core.text import printable
from rl_arena_app.db.models import Match, MatchStatus, Submission
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import BadInput, NotFound
from rl_arena_app.services.ids import in_range
from rl_arena_app.services.matches.replays import load_replay
from rl_arena_app.services.submissions.builds import submission_bundle

IDENTICAL = "identical"
DIFFERS = "differs"
STEP_FIELDS = ("seat", "agent", "action", "rewards", "state")
SHOWN_CHARS = 80  # of a differing value, in the outcome's one line
Progress = Callable[[float, str], None]


def rerunnable_match(target: str) -> int:
    """A re-run's target, a match id as typed: the id of a finished match with a replay, or
    BadInput (NotFound) saying why not."""
    if not target.isdigit() or not target.isascii() or not in_range(int(target)):
        raise BadInput(f"a match id is a number, not {printable(target)[:40]!r}")
    _finished_match(int(target))
    return int(target)


def rerun_match(match_id: int, runner: SandboxRunner, report: Progress = lambda *_: None) -> str:
    """Play a finished match again in ``runner`` (which should be cold: no warm sandboxes);
    ``identical`` or ``differs at game G step S: ...``; BadInput when it cannot be compared."""
    match, subs = _finished_match(match_id)
    replay = load_replay(match.replay_path)
    env = _same_env(replay)
    if replay.get("sandbox") != runner.kind:
        raise BadInput(f"match {match_id} was played in the {replay.get('sandbox')} sandbox and "
                       f"this worker runs {runner.kind}: a re-run would not compare like with like")
    report(0.0, "preparing the agents' images")
    prepared = runner.prepare([submission_bundle(s) for s in subs])
    _same_images(replay, prepared.images)
    stored = replay["games"]
    report(0.1, f"playing {len(stored)} games again")
    result = play(env, prepared.factories, [a["ref"] for a in replay["agents"]],
                  sandbox=runner.kind, seed=replay["seed"], limits=Limits(**replay["limits"]),
                  games=len(stored),
                  progress=lambda done, total: report(0.1 + 0.9 * done / total,
                                                      f"game {done} of {total}"))
    difference = first_difference(stored, result.replay()["games"])
    return IDENTICAL if difference is None else f"{DIFFERS} at {difference}"


def _finished_match(match_id: int) -> tuple[Match, list[Submission]]:
    """The match and its two versions; NotFound or BadInput unless finished with a replay."""
    with session_scope() as session:
        match = session.get(Match, match_id) if in_range(match_id) else None
        if match is None:
            raise NotFound(f"no match {match_id}")
        subs = [session.get(Submission, match.player_a_id),
                session.get(Submission, match.player_b_id)]
    if match.status != MatchStatus.FINISHED or match.replay_path is None:
        raise BadInput(f"match {match_id} is {match.status}: only a finished match with a replay "
                       "can be re-run")
    return match, subs


def _same_env(replay: dict[str, Any]) -> envs.EnvSpec:
    """The replay's environment as it is now; BadInput when it is gone or its version moved."""
    try:
        env = envs.spec(replay["env"])
    except BadInput:
        raise BadInput(f"environment {replay['env']!r} no longer exists: nothing to re-run "
                       "against") from None
    if replay.get("env_version") != env.version:
        raise BadInput(f"the match was played on {env.id} version {replay.get('env_version')} and "
                       f"the arena now runs version {env.version}: a re-run would compare "
                       "different rules, so it is refused")
    return env


def _same_images(replay: dict[str, Any], images: list[str | None]) -> None:
    """BadInput when an agent's image tag now differs from the one the match was played in."""
    for player, (agent, image) in enumerate(zip(replay["agents"], images, strict=True)):
        if agent.get("image") != image:
            raise BadInput(
                f"player {'ab'[player]}'s image is now {image} but the match was played in "
                f"{agent.get('image')} (its base image or build recipe changed since): a re-run "
                "would run a different program, so it is refused")


def first_difference(stored: list[dict[str, Any]], again: list[dict[str, Any]]) -> str | None:
    """Where two runs' games first differ, as "game G step S: what" (timings ignored); None when
    they are the same."""
    for index, (old, new) in enumerate(zip_longest(stored, again)):
        if old is None or new is None:
            return f"game {index}: only the {'re-run' if old is None else 'original'} has it"
        if (found := _game_difference(without_timing(old), without_timing(new))) is not None:
            return f"game {index} {found}"
    return None


def _game_difference(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """The first difference inside one game: its start, a step, or its end."""
    for key in ("seat_agents", "agent_seeds", "initial_state"):
        if old.get(key) != new.get(key):
            return f"step 0: {_changed(key, old.get(key), new.get(key))}"
    for step, (a, b) in enumerate(zip_longest(old["steps"], new["steps"])):
        if a is None or b is None:
            ended = "the original" if a is None else "the re-run"
            return f"step {step}: {ended} had ended ({_end(old if a is None else new)})"
        for key in STEP_FIELDS:
            if a.get(key) != b.get(key):
                return f"step {step}: {_changed(key, a.get(key), b.get(key))}"
    last = len(old["steps"])
    if _forfeit(old) != _forfeit(new):
        return f"step {last}: {_changed('forfeit', _forfeit(old), _forfeit(new))}"
    for key in ("returns", "winner", "truncated"):
        if old.get(key) != new.get(key):
            return f"step {last}: {_changed(key, old.get(key), new.get(key))}"
    return None


def _forfeit(game: dict[str, Any]) -> dict[str, Any] | None:
    """Who forfeited and why (the detail is the agent's text, timings and all: left out)."""
    forfeit = game.get("forfeit")
    return None if forfeit is None else {"agent": forfeit.get("agent"),
                                         "reason": forfeit.get("reason")}


def _end(game: dict[str, Any]) -> str:
    forfeit = _forfeit(game)
    return "a forfeit" if forfeit else f"winner {game.get('winner')}"


def _changed(what: str, before: Any, after: Any) -> str:
    return f"{what} was {_shown(before)}, the re-run gave {_shown(after)}"


def _shown(value: Any) -> str:
    """A value on one printable line, cut to SHOWN_CHARS."""
    text = printable(json.dumps(value, separators=(",", ":"), default=str))
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 1] + "…"
