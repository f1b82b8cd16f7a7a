"""Submission quotas: an owner's daily submissions per env and active agents, counted and checked.

Days are UTC days: daily limits reset at 00:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlmodel import Session, func, select

from rl_arena_app.arena import envs
from rl_arena_app.db.models import Agent, Submission, User, utcnow
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import LimitExceeded
from rl_arena_app.services.read_models import Account, Quota
from rl_arena_app.settings import Settings, get_settings


def _day_start(now: datetime) -> datetime:
    """The last UTC midnight: since when daily limits count."""
    return datetime.combine(now.date(), time(0), tzinfo=UTC)


def _day_end(now: datetime) -> datetime:
    """The next UTC midnight: when daily limits reset."""
    return datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=UTC)


def _in(moment: datetime, now: datetime) -> str:
    """``in 3 h 12 min`` from now."""
    minutes = max(1, int((moment - now).total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    return f"in {hours} h {minutes} min" if hours else f"in {minutes} min"


def submissions_today(user_id: int, env_id: str, now: datetime, *, session: Session) -> int:
    """The owner's submissions to the env since UTC midnight."""
    return session.exec(select(func.count()).select_from(Submission)
                        .join(Agent, Agent.id == Submission.agent_id)
                        .where(Agent.owner_id == user_id, Submission.env_id == env_id,
                               Submission.created_at >= _day_start(now))).one()


def active_agents(user_id: int, *, session: Session) -> int:
    """The owner's agents that are not retired."""
    return session.exec(select(func.count()).select_from(Agent)
                        .where(Agent.owner_id == user_id, Agent.retired_at.is_(None))).one()


def check_limits(owner: User, env_id: str, *, new_agent: bool, settings: Settings,
                 session: Session) -> None:
    """LimitExceeded when this submit would pass the owner's daily or active-agent limit."""
    now = utcnow()
    today = submissions_today(owner.id, env_id, now, session=session)
    if today >= settings.daily_submissions:
        resets = _day_end(now)
        raise LimitExceeded(
            f"{owner.email} has made {today} submissions to {env_id} today, the daily limit: "
            f"the next one is possible after 00:00 UTC ({_in(resets, now)})", resets)
    if new_agent and active_agents(owner.id, session=session) >= settings.active_agents:
        raise LimitExceeded(
            f"{owner.email} has {settings.active_agents} active agents, the limit: retire one "
            "(it keeps its history) or submit a new version of an existing agent")


def quotas(account: Account, env_id: str) -> tuple[Quota, Quota]:
    """The account's use of its daily submissions in the env and of its active agents."""
    settings = get_settings()
    now = utcnow()
    with session_scope() as session:
        today = submissions_today(account.user_id, env_id, now, session=session)
        agents = active_agents(account.user_id, session=session)
    return (Quota(today, settings.daily_submissions, _day_end(now)),
            Quota(agents, settings.active_agents, None))


def account_quotas(account: Account) -> tuple[dict[str, Quota], Quota]:
    """The account's use of its daily submissions in every environment (by id, sorted), and of
    its active agents."""
    settings = get_settings()
    now = utcnow()
    with session_scope() as session:
        counts = dict(session.exec(select(Submission.env_id, func.count())
                                   .join(Agent, Agent.id == Submission.agent_id)
                                   .where(Agent.owner_id == account.user_id,
                                          Submission.created_at >= _day_start(now))
                                   .group_by(Submission.env_id)).all())
        agents = active_agents(account.user_id, session=session)
    daily = {spec.id: Quota(counts.get(spec.id, 0), settings.daily_submissions, _day_end(now))
             for spec in envs.list_envs()}
    return daily, Quota(agents, settings.active_agents, None)
