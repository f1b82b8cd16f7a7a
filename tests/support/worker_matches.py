"""Matches for a real worker process to play: ready versions of an agent's source, a match
between two of them on the matches queue, and what the worker recorded of it."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from rl_arena_app.db.models import Match, MatchStatus
from rl_arena_app.db.session import session_scope
from rl_arena_app.services.matches.queue import enqueue_match
from rl_arena_app.services.submissions import intake
from tests.support.factory import make_match, make_ready

ENV = "tictactoe"


def ready_pair(source: str, folder: Path, name: str) -> tuple[int, int]:
    """Two ready versions of the agent ``source`` (agents ``name`` of two owners); their ids.

    Nothing is built: the process sandbox runs the stored files, Docker builds the image when a
    match first needs it.
    """
    path = folder / name / "agent.py"
    path.parent.mkdir(parents=True)
    path.write_text(source)
    versions = [intake.submit(str(path), env_id=ENV, name=name,
                              owner_email=f"{name}-{n}@example.org", enqueue=False)
                for n in (1, 2)]
    make_ready(*(v.agent_id for v in versions))
    return versions[0].id, versions[1].id


def queued_match(pair: tuple[int, int]) -> int:
    """A match of ``pair``, queued in the database and on the matches queue as the scheduler
    does it; its id."""
    match_id = make_match(*pair, ENV, status=MatchStatus.QUEUED, attempts=0)
    enqueue_match(match_id, 0)
    return match_id


def match_row(match_id: int) -> Match:
    """The match as the database has it now."""
    with session_scope() as session:
        return session.get(Match, match_id)


def player_of(process: subprocess.Popen) -> str:
    """What ``Match.worker`` says of a match played in ``process`` itself (host and pid)."""
    return f"{socket.gethostname()}:{process.pid}"
