"""Agents as people see them: every version with its timeline, records, rating history."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlmodel import Session, or_, select

from rl_arena_app.arena import envs
from rl_arena_app.core.ratings import expected_score
from rl_arena_app.core.text import printable, printable_or_none
from rl_arena_app.db.models import (
    Agent,
    BTEstimate,
    Game,
    RatingEvent,
    Submission,
    SubmissionEvent,
    SubmissionStatus,
    User,
    utcnow,
)
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import Conflict, NotAllowed, NotFound, NotSignedIn
from rl_arena_app.services import events
from rl_arena_app.services.admin import audit
from rl_arena_app.services.ids import in_range
from rl_arena_app.services.matches.views import agent_ref, match_page
from rl_arena_app.services.read_models import (
    Account,
    AgentRef,
    AgentView,
    BTPoint,
    ForfeitCount,
    MyAgent,
    OpponentRecord,
    RatingHistory,
    RatingPoint,
    StatusChange,
    SubmissionView,
    VersionView,
)

RECENT_MATCHES = 10


def _agent(agent_id: int, *, session: Session) -> tuple[Agent, User]:
    """The agent and its owner; NotFound for an unknown id."""
    row = session.exec(select(Agent, User).join(User, User.id == Agent.owner_id)
                       .where(Agent.id == agent_id)).first() if in_range(agent_id) else None
    if row is None:
        raise NotFound(f"no agent {agent_id}: see the leaderboards for the agents playing")
    return row


def agent_view(agent_id: int) -> AgentView:
    """An agent with every version, its record against each opponent and its recent matches."""
    with session_scope() as session:
        agent, owner = _agent(agent_id, session=session)
        subs = list(session.exec(select(Submission).where(Submission.agent_id == agent_id)
                                 .order_by(Submission.version.desc())).all())
        timelines = _timelines([s.id for s in subs], session=session)
        versions = [_version(s, timelines.get(s.id, [])) for s in subs]
        opponents, forfeits = _records({s.id for s in subs}, session=session)
    ready = [v for v in versions if v.status == SubmissionStatus.READY]
    return AgentView(
        agent_id=agent.id, name=printable(agent.name), env_id=agent.env_id,
        kind=envs.spec(agent.env_id).kind, owner_id=owner.id, owner_name=printable(owner.name),
        house=owner.is_house, created_at=agent.created_at, retired_at=agent.retired_at,
        current=ready[0] if ready else None, versions=versions,
        opponents=opponents, forfeits=forfeits,
        recent_matches=match_page(agent_id=agent_id, limit=RECENT_MATCHES).matches)


def submission_view(submission_id: int) -> SubmissionView:
    """One version with its agent and its status timeline; NotFound for an unknown id."""
    with session_scope() as session:
        row = session.exec(select(Submission, Agent, User)
                           .join(Agent, Agent.id == Submission.agent_id)
                           .join(User, User.id == Agent.owner_id)
                           .where(Submission.id == submission_id)).first() \
            if in_range(submission_id) else None
        if row is None:
            raise NotFound(f"no submission {submission_id}")
        sub, agent, owner = row
        timeline = _timelines([sub.id], session=session).get(sub.id, [])
        return SubmissionView(agent=agent_ref(sub, agent, owner), env_id=sub.env_id,
                              kind=envs.spec(sub.env_id).kind,
                              retired=agent.retired_at is not None,
                              version=_version(sub, timeline))


def my_agents(account: Account) -> list[MyAgent]:
    """A submitter's agents, newest first, each with its latest version and its timeline."""
    with session_scope() as session:
        agents = session.exec(select(Agent).where(Agent.owner_id == account.user_id)
                              .order_by(Agent.id.desc())).all()
        subs = session.exec(select(Submission).where(
            Submission.agent_id.in_([a.id for a in agents]))
            .order_by(Submission.version)).all()
        latest = {s.agent_id: s for s in subs}
        ready = {s.agent_id: s for s in subs if s.status == SubmissionStatus.READY}
        timelines = _timelines([s.id for s in latest.values()], session=session)
        return [MyAgent(
            agent_id=a.id, env_id=a.env_id, name=printable(a.name),
            retired=a.retired_at is not None,
            latest=(_version(latest[a.id], timelines.get(latest[a.id].id, []))
                    if a.id in latest else None),
            current_elo=ready[a.id].rating if a.id in ready else None,
            current_score=ready[a.id].score_mean if a.id in ready else None) for a in agents]


def _timelines(ids: list[int], *, session: Session) -> dict[int, list[StatusChange]]:
    """Each submission's status changes, oldest first."""
    found: dict[int, list[StatusChange]] = defaultdict(list)
    for event in session.exec(select(SubmissionEvent).where(SubmissionEvent.submission_id
                                                            .in_(ids)).order_by(SubmissionEvent.id)):
        found[event.submission_id].append(StatusChange(event.status, event.at,
                                                        printable_or_none(event.reason)))
    return found


def _version(sub: Submission, timeline: list[StatusChange]) -> VersionView:
    """A version as people see it; its reason and log tail (an agent's or pip's words, rows
    stored by older versions raw) made printable."""
    return VersionView(
        submission_id=sub.id, version=sub.version, status=sub.status,
        reason=printable_or_none(sub.reason),
        log_tail=printable_or_none(sub.log_tail, multiline=True),
        artifact_name=printable(sub.artifact_name), sha256=sub.artifact_sha256,
        image=sub.image, algorithm=printable_or_none(sub.algorithm),
        description=printable_or_none(sub.description, multiline=True),
        source_url=printable_or_none(sub.source_url), created_at=sub.created_at,
        updated_at=sub.updated_at, elo=sub.rating,
        initial_elo=sub.initial_rating, games=sub.games, wins=sub.wins, draws=sub.draws,
        losses=sub.losses, bt_rating=sub.bt_rating, bt_low=sub.bt_low, bt_high=sub.bt_high,
        score_mean=sub.score_mean, score_std=sub.score_std,
        has_validation_replay=sub.validation_replay is not None, timeline=timeline)


@dataclass
class _Tally:
    """A running record against one opponent agent."""

    opponent: AgentRef
    games: int = 0
    wins: int = 0
    draws: int = 0
    expected: float = 0.0
    actual: float = 0.0


def _records(mine: set[int], *,
             session: Session) -> tuple[list[OpponentRecord], list[ForfeitCount]]:
    """Results against each opponent agent (most games first) and forfeits by reason."""
    games = session.exec(select(Game).where(or_(Game.player_a_id.in_(mine),
                                                Game.player_b_id.in_(mine)))).all()
    befores = {(e.game_id, e.submission_id): e.before for e in session.exec(
        select(RatingEvent).where(RatingEvent.game_id.in_([g.id for g in games])))}
    opponents = _opponent_refs({g.player_b_id if g.player_a_id in mine else g.player_a_id
                                for g in games}, session=session)
    tallies: dict[int, _Tally] = {}
    forfeits: Counter[str] = Counter()
    for game in games:
        if game.player_a_id in mine:
            side, me, other, score = 0, game.player_a_id, game.player_b_id, game.score_a
        else:
            side, me, other, score = 1, game.player_b_id, game.player_a_id, 1.0 - game.score_a
        ref = opponents[other]
        tally = tallies.setdefault(ref.agent_id, _Tally(ref))
        tally.games += 1
        tally.wins += score == 1.0
        tally.draws += score == 0.5
        tally.actual += score
        if (game.id, me) in befores and (game.id, other) in befores:
            tally.expected += expected_score(befores[game.id, me], befores[game.id, other])
        if game.forfeit_player == side and game.forfeit_reason:
            forfeits[game.forfeit_reason] += 1
    records = [OpponentRecord(opponent=t.opponent, games=t.games, wins=t.wins, draws=t.draws,
                              losses=t.games - t.wins - t.draws, expected_score=t.expected,
                              actual_score=t.actual)
               for t in sorted(tallies.values(), key=lambda t: (-t.games, t.opponent.name))]
    return records, [ForfeitCount(printable(reason), count)
                     for reason, count in forfeits.most_common()]


def _opponent_refs(ids: set[int], *, session: Session) -> dict[int, AgentRef]:
    """Submission id → that agent version as a link."""
    rows = session.exec(select(Submission, Agent, User).join(Agent, Agent.id == Submission.agent_id)
                        .join(User, User.id == Agent.owner_id)
                        .where(Submission.id.in_(ids))).all()
    return {sub.id: agent_ref(sub, agent, owner) for sub, agent, owner in rows}


def rating_history(agent_id: int) -> RatingHistory:
    """Every Elo change of the agent across its versions, and its Bradley-Terry estimates."""
    with session_scope() as session:
        _agent(agent_id, session=session)
        versions = dict(session.exec(select(Submission.id, Submission.version)
                                     .where(Submission.agent_id == agent_id)).all())
        ids = list(versions)
        # Columns, not entities: an agent can have tens of thousands of rating events.
        events = session.exec(select(RatingEvent.game_id, RatingEvent.submission_id,
                                     RatingEvent.at, RatingEvent.before, RatingEvent.after)
                              .where(RatingEvent.submission_id.in_(ids))
                              .order_by(RatingEvent.game_id)).all()
        estimates = session.exec(select(BTEstimate.submission_id, BTEstimate.at,
                                        BTEstimate.rating, BTEstimate.low, BTEstimate.high)
                                 .where(BTEstimate.submission_id.in_(ids))
                                 .order_by(BTEstimate.at, BTEstimate.id)).all()
    elo = [RatingPoint(game_id=game_id, game_number=n, submission_id=sub_id,
                       version=versions[sub_id], at=at, before=before, after=after)
           for n, (game_id, sub_id, at, before, after) in enumerate(events, start=1)]
    bt = [BTPoint(submission_id=sub_id, version=versions[sub_id], at=at, rating=rating, low=low,
                  high=high) for sub_id, at, rating, low, high in estimates]
    return RatingHistory(agent_id=agent_id, elo=elo, bradley_terry=bt)


def retire_agent(actor: Account | None, agent_id: int) -> None:
    """Retire an agent (its owner or an admin): no more matches; its history stays."""
    if actor is None:
        raise NotSignedIn("log in to retire an agent")
    with session_scope() as session:
        agent = session.get(Agent, agent_id) if in_range(agent_id) else None
        if agent is None:
            raise NotFound(f"no agent {agent_id}")
        if agent.owner_id != actor.user_id and not actor.is_admin:
            raise NotAllowed("only its owner or an admin can retire an agent")
        if agent.retired_at is not None:
            raise Conflict(f"{agent.name} is already retired")
        agent.retired_at = utcnow()
        env_id, name, by_admin = agent.env_id, agent.name, agent.owner_id != actor.user_id
        session.add(agent)
    events.publish("agent_retired", env=env_id, agent_id=agent_id)
    if by_admin:  # an admin acting on someone else's agent: on the record like other repairs
        audit.record(actor, "retire-agent", f"{name} ({agent_id}) in {env_id}")
