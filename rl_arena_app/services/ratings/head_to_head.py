"""Head-to-head: games and scores between the leaders of a duel env, pair by pair."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import select

from rl_arena_app.db.models import Game, Submission
from rl_arena_app.db.session import session_scope
from rl_arena_app.services.ratings.leaderboard import leaderboard_page
from rl_arena_app.services.read_models import AgentRef, HeadToHead


def head_to_head(env_id: str, limit: int = 15) -> HeadToHead:
    """Games and scores between the top ``limit`` agents of a duel env (all their versions)."""
    rows = leaderboard_page(env_id, limit=limit).rows
    position = {row.agent_id: k for k, row in enumerate(rows)}
    n = len(rows)
    games = [[0] * n for _ in range(n)]
    score = [[0.0] * n for _ in range(n)]
    side_a, side_b = aliased(Submission), aliased(Submission)
    with session_scope() as session:
        played = session.exec(
            select(side_a.agent_id, side_b.agent_id, func.count(), func.sum(Game.score_a))
            .join(side_a, side_a.id == Game.player_a_id)
            .join(side_b, side_b.id == Game.player_b_id)
            .where(Game.env_id == env_id, side_a.agent_id.in_(list(position)),
                   side_b.agent_id.in_(list(position)))
            .group_by(side_a.agent_id, side_b.agent_id)).all()
    for agent_a, agent_b, count, points in played:
        i, j = position[agent_a], position[agent_b]
        games[i][j] += count
        games[j][i] += count
        score[i][j] += float(points or 0.0)
        score[j][i] += count - float(points or 0.0)
    agents = [AgentRef(agent_id=r.agent_id, name=r.name, version=r.version,
                       submission_id=r.submission_id, owner_name=r.owner_name) for r in rows]
    return HeadToHead(env_id=env_id, agents=agents, games=games, score=score)
