"""Submissions as the CLI lists and shows them: rows with stable keys."""

from __future__ import annotations

from typing import Any

from sqlmodel import func, select

from rl_arena_app.arena import envs
from rl_arena_app.db.models import Agent, Submission, User
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import NotFound
from rl_arena_app.services.ids import in_range
from rl_arena_app.services.ratings.snapshots import current_versions
from rl_arena_app.services.submissions.intake import check_env


def _row(submission: Submission, agent: Agent, owner: User) -> dict[str, Any]:
    """A submission as a plain dict for the CLI, API and UI."""
    return {
        "submission": submission.id, "env": submission.env_id,
        "kind": envs.spec(submission.env_id).kind, "agent": agent.name,
        "agent_id": agent.id, "owner": owner.email, "house": owner.is_house,
        "version": submission.version, "status": submission.status,
        "reason": submission.reason, "image": submission.image,
        "validation_replay": submission.validation_replay,
        "artifact": submission.artifact_name, "sha256": submission.artifact_sha256,
        "algorithm": submission.algorithm, "description": submission.description,
        "source_url": submission.source_url,
        "rating": submission.rating, "initial_rating": submission.initial_rating,
        "games": submission.games, "score_mean": submission.score_mean,
        "score_std": submission.score_std, "created_at": submission.created_at,
        "updated_at": submission.updated_at,
    }


def _joined():
    """Submissions joined with their agent and owner."""
    return (select(Submission, Agent, User).join(Agent, Agent.id == Submission.agent_id)
            .join(User, User.id == Agent.owner_id))


def list_submissions(env_id: str | None = None) -> list[dict[str, Any]]:
    """All submissions (of one env when given), oldest first."""
    if env_id is not None:
        check_env(env_id)
    with session_scope() as session:
        query = _joined().order_by(Submission.id)
        if env_id is not None:
            query = query.where(Submission.env_id == env_id)
        return [_row(*row) for row in session.exec(query).all()]


def describe(submission_id: int) -> dict[str, Any]:
    """One submission with its log tail; NotFound when there is no such submission."""
    with session_scope() as session:
        row = session.exec(_joined().where(Submission.id == submission_id)).first() \
            if in_range(submission_id) else None
        if row is None:
            total = session.exec(select(func.count()).select_from(Submission)).one()
            raise NotFound(f"no submission {submission_id} ({total} submissions exist): "
                           "see `rl-arena agent list`")
    return {**_row(*row), "log_tail": row[0].log_tail}


def playable_images() -> set[str]:
    """The images of the versions matches may still pick: each duel agent's current version,
    the agent not retired (a worker keeps no other warm)."""
    images: set[str] = set()
    with session_scope() as session:
        for env in envs.list_envs():
            if env.kind == "duel":
                images.update(session.exec(
                    select(Submission.image).join(Agent, Agent.id == Submission.agent_id)
                    .where(*current_versions(env.id), Agent.retired_at.is_(None),
                           Submission.image.is_not(None))))
    return images
