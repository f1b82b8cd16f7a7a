"""Replays: the stored record of a match's (or a validation's) games, read back for the viewer
and for download."""

from __future__ import annotations

import gzip
import json
import logging
from typing import Any

from sqlmodel import Session, select

from rl_arena_app.arena.run import REPLAY_FORMAT, REPLAY_VERSION
from rl_arena_app.core.text import printable, printable_or_none
from rl_arena_app.db.models import Agent, Match, Submission
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import BadInput, InfrastructureError, NotFound
from rl_arena_app.services.ids import in_range
from rl_arena_app.services.read_models import ReplayGame, ReplayStep, ReplayView
from rl_arena_app.services.storage import read_replay
from rl_arena_app.services.submissions.seasons import is_secret

log = logging.getLogger(__name__)


def load_replay(stored: str) -> dict[str, Any]:
    """A stored replay, parsed and checked; BadInput when it is gone or not a replay."""
    try:
        raw = read_replay(stored)
    except NotFound:
        raise NotFound("the replay file is missing from the replay store") from None
    try:
        replay = json.loads(gzip.decompress(raw))
    except (OSError, EOFError, ValueError) as exc:  # the error's text would name a server path
        log.warning("replay %s unreadable: %s", stored, exc)
        raise BadInput("the stored replay cannot be read: it is damaged (an admin can look at "
                       "the server's log)") from None
    if replay.get("format") != REPLAY_FORMAT or replay.get("format_version") != REPLAY_VERSION:
        raise BadInput(f"the stored replay is not an {REPLAY_FORMAT} v{REPLAY_VERSION} file")
    return replay


def replay_header(relative: str | None) -> dict[str, Any]:
    """The replay's env version and images (empty when there is no readable replay)."""
    if relative is None:
        return {}
    try:
        replay = load_replay(relative)
    except (BadInput, InfrastructureError):  # the header is a detail: the page shows without
        return {}
    return {"env_version": replay.get("env_version"),
            "images": [a.get("image") for a in replay.get("agents", [])]}


def match_replay(match_id: int) -> ReplayView:
    """The replay of a finished match; NotFound when the match or its replay is missing."""
    with session_scope() as session:
        match = session.get(Match, match_id) if in_range(match_id) else None
        if match is None:
            raise NotFound(f"no match {match_id}")
        names = _player_names(match, session=session)
    if match.replay_path is None:
        raise NotFound(f"match {match_id} has no replay ({match.status})")
    return replay_view(load_replay(match.replay_path), names, f"match-{match_id}.json.gz")


def _player_names(match: Match, *, session: Session) -> list[str]:
    """"NAME vN" of player a and player b."""
    rows = session.exec(select(Submission.id, Agent.name, Submission.version)
                        .join(Agent, Agent.id == Submission.agent_id)
                        .where(Submission.id.in_([match.player_a_id, match.player_b_id]))).all()
    named = {submission_id: f"{name} v{version}" for submission_id, name, version in rows}
    return [named[match.player_a_id], named[match.player_b_id]]


def match_replay_file(match_id: int) -> tuple[bytes, str]:
    """The gzip bytes of a match's replay and the name to download it as."""
    with session_scope() as session:
        match = session.get(Match, match_id) if in_range(match_id) else None
    if match is None or match.replay_path is None:
        raise NotFound(f"match {match_id} has no replay")
    try:
        return read_replay(match.replay_path), f"match-{match_id}.json.gz"
    except NotFound:
        raise NotFound(f"the replay file of match {match_id} is missing") from None


def validation_replay(submission_id: int) -> ReplayView:
    """A submission's validation games or episodes; NotFound when it has none."""
    with session_scope() as session:
        row = session.exec(select(Submission, Agent).join(Agent, Agent.id == Submission.agent_id)
                           .where(Submission.id == submission_id)).first() \
            if in_range(submission_id) else None
    if row is None:
        raise NotFound(f"no submission {submission_id}")
    sub, agent = row
    if sub.validation_replay is None:
        raise NotFound(f"submission {submission_id} has no validation replay ({sub.status})")
    replay = load_replay(sub.validation_replay)
    names = [f"{agent.name} v{sub.version}", *[a["ref"] for a in replay["agents"][1:]]]
    return replay_view(replay, names, f"validation-{submission_id}.json.gz")


def replay_view(replay: dict[str, Any], names: list[str], download_name: str) -> ReplayView:
    """A parsed replay as the viewer's read model (its text made printable). A scoring run of the
    running season shows its returns, steps, timings and forfeit reasons only: its seeds,
    observations and actions are withheld until the season ends (the episodes are fixed for the
    season and deterministic, so a leader's actions, step by step, would score as well for
    anyone), and so is what an agent raised or printed in an episode (a channel out of it);
    a failure to start, before any observation, keeps its detail."""
    hidden = is_secret(replay["env"], replay.get("season"))
    return ReplayView(
        env_id=replay["env"], env_version=replay.get("env_version", ""), kind=replay["kind"],
        seed=None if hidden else replay["seed"], agents=[printable(name) for name in names],
        images=[a.get("image") for a in replay["agents"]],
        games=[_replay_game(g, hidden) for g in replay["games"]], download_name=download_name,
        withheld=hidden)


def _replay_game(game: dict[str, Any], hidden: bool) -> ReplayGame:
    forfeit = game.get("forfeit") or {}
    return ReplayGame(
        index=game["index"], seed=None if hidden else game["seed"],
        seat_agents=game["seat_agents"],
        initial_state=[] if hidden else game["initial_state"],
        steps=[ReplayStep(seat=s["seat"], agent=s["agent"],
                          action=None if hidden else s["action"], time_s=s.get("time_s", 0.0),
                          rewards=s.get("rewards", []), state=[] if hidden else s["state"])
               for s in game["steps"]],
        returns=game.get("returns", []), winner=game.get("winner"),
        forfeit_agent=forfeit.get("agent"), forfeit_reason=printable_or_none(forfeit.get("reason")),
        forfeit_detail=None if hidden and not forfeit.get("at_start") else printable_or_none(
            forfeit.get("detail"), multiline=True))
