"""Rows the tests start from: users, agents, submissions, matches, and the referee's game records
(one way to make each, straight into the test's database)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, update
from sqlmodel import Session, select

from rl_arena_app.arena.outcomes import Reason
from rl_arena_app.arena.referee import Forfeit, GameRecord
from rl_arena_app.db.models import (
    Agent,
    Match,
    MatchStatus,
    Submission,
    SubmissionStatus,
    User,
    utcnow,
)
from rl_arena_app.db.session import get_engine, session_scope
from rl_arena_app.services.matches.play import record_result
from rl_arena_app.services.storage import store_bundle, store_replay
from rl_arena_app.services.submissions import intake
from tests.support.agents import AGENT, builtin
from tests.support.api import Person

UNUSED_ARTIFACT = "0" * 64  # for submissions that are paired but never played


def make_user(*, session: Session, email: str, house: bool = False) -> User:
    """The user of ``email``, made if new."""
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        user = User(email=email, name=email.split("@")[0], is_house=house)
        session.add(user)
        session.flush()
    return user


def make_agent(*, session: Session, owner: User, env_id: str, name: str) -> Agent:
    """``owner``'s agent ``name`` in ``env_id``, made if new."""
    agent = session.exec(select(Agent).where(Agent.owner_id == owner.id, Agent.env_id == env_id,
                                             Agent.name == name)).first()
    if agent is None:
        agent = Agent(owner_id=owner.id, env_id=env_id, name=name)
        session.add(agent)
        session.flush()
    return agent


def _submission(owner: str, name: str, env_id: str, *, house: bool = False,
                **fields: Any) -> int:
    """A submission row of ``owner``'s agent ``name`` (both made if new); its id."""
    with session_scope() as session:
        user = make_user(session=session, email=owner, house=house)
        agent = make_agent(session=session, owner=user, env_id=env_id, name=name)
        submission = Submission(agent_id=agent.id, env_id=env_id, artifact_name="agent.py",
                                **fields)
        session.add(submission)
        session.flush()
        return submission.id


def make_submission(owner: str, name: str, env_id: str = "tictactoe", *, rating: float = 1500.0,
                    house: bool = False, version: int = 1, agent_ref: str = "random",
                    status: str = SubmissionStatus.READY, **fields: Any) -> int:
    """A ready submission (its builtin agent stored as the artifact); returns its id."""
    digest = store_bundle(builtin(agent_ref, env_id))
    return _submission(owner, name, env_id, house=house, version=version, artifact_sha256=digest,
                       status=status, initial_rating=rating, rating=rating, **fields)


def ready_submissions(env_id: str, count: int) -> list[int]:
    """``count`` ready submissions of distinct owners (no build needed to be paired)."""
    return [_submission(f"owner{n}@example.org", f"agent{n}", env_id,
                        artifact_sha256=UNUSED_ARTIFACT, image="unused:latest",
                        status=SubmissionStatus.READY) for n in range(count)]


def add_agents(count: int, env_id: str) -> None:
    """``count`` agents with one ready, rated version each, inserted in bulk."""
    now = utcnow()
    with get_engine().begin() as connection:
        connection.execute(insert(User), [
            {"id": k, "email": f"owner{k}@example.org", "name": f"owner{k}", "is_admin": False,
             "is_house": False, "created_at": now} for k in range(1, count + 1)])
        connection.execute(insert(Agent), [
            {"id": k, "owner_id": k, "env_id": env_id, "name": f"agent-{k:05d}",
             "created_at": now} for k in range(1, count + 1)])
        connection.execute(insert(Submission), [
            {"id": k, "agent_id": k, "env_id": env_id, "version": 1,
             "artifact_sha256": UNUSED_ARTIFACT, "artifact_name": "agent.py", "status": "ready",
             "initial_rating": 1500.0, "rating": 1500.0 + (k * 37) % 400, "games": 2 * (k % 5),
             "wins": k % 5, "draws": 0, "losses": k % 5, "waited_ticks": 0, "created_at": now,
             "updated_at": now}
            for k in range(1, count + 1)])


def agent_of(someone: Person, name: str = "bot", env_id: str = "tictactoe") -> int:
    """A new agent of ``someone`` (its first version, not built); its id."""
    return intake.submit_upload(someone.account, env_id=env_id, name=name, filename="agent.py",
                                data=AGENT, enqueue=False).agent_id


def make_ready(*agent_ids: int) -> None:
    """Mark every version of these agents ready (as if built and validated)."""
    with session_scope() as session:
        session.exec(update(Submission).where(Submission.agent_id.in_(agent_ids))
                     .values(status=SubmissionStatus.READY))


def make_match(a: int, b: int, env_id: str = "tictactoe", *, status: str = MatchStatus.RUNNING,
               attempts: int = 1, seed: int = 7, **fields: Any) -> int:
    """A match row (running by default, as a worker would have claimed it)."""
    with session_scope() as session:
        match = Match(env_id=env_id, seed=seed, player_a_id=a, player_b_id=b, status=status,
                      attempts=attempts, **fields)
        session.add(match)
        session.flush()
        return match.id


def played_match(a_agent: int, b_agent: int) -> int:
    """A finished, rated match between the current versions of two agents (made ready), with a
    stored replay; its id."""
    make_ready(a_agent, b_agent)
    with session_scope() as session:
        a, b = (session.exec(select(Submission.id).where(Submission.agent_id == agent)
                             .order_by(Submission.version.desc())).first()
                for agent in (a_agent, b_agent))
    match_id = make_match(a, b, seed=0, attempts=0)
    replay = store_replay({"format": "test", "games": []})
    won = GameRecord(index=0, seed=0, seat_agents=[0, 1], agent_seeds=[0, 0], returns=[1.0, -1.0])
    assert record_result(match_id, [won], replay)
    return match_id


def duel_games(*winners: int | None, forfeits: dict[int, int] | None = None) -> list[GameRecord]:
    """The referee's records of a duel: winners per game (agent index, None for a draw) and
    forfeits (game → agent); seats alternate, agent 0 moving first in game 0."""
    forfeits = forfeits or {}
    games = []
    for k, winner in enumerate(winners):
        seats = [k % 2, 1 - k % 2]
        record = GameRecord(k, seed=k, seat_agents=seats, agent_seeds=[0, 0],
                            steps=[{}] * 5, duration_s=0.01)
        if k in forfeits:
            record.forfeit = Forfeit(forfeits[k], Reason.ILLEGAL_ACTION, "bad move")
        else:
            record.returns = [0.0, 0.0] if winner is None else [
                1.0 if agent == winner else -1.0 for agent in seats]
        games.append(record)
    return games
