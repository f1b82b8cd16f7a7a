"""The images a worker may keep warm: each duel agent's current version, never a retired
agent's, a superseded version's or a solo agent's."""

from __future__ import annotations

from datetime import UTC, datetime

from rl_arena_app.db.models import Agent, Submission
from rl_arena_app.db.session import session_scope
from rl_arena_app.services.submissions.listing import playable_images
from tests.support.factory import make_submission


def test_only_current_versions_of_active_duel_agents_are_playable(platform):
    make_submission("a@example.org", "old", version=1, image="img:a1")
    make_submission("a@example.org", "old", version=2, image="img:a2")
    retired = make_submission("b@example.org", "gone", image="img:b1")
    make_submission("c@example.org", "solo", "CartPole-v1", image="img:c1")
    make_submission("d@example.org", "building", image="img:d1", status="building")
    with session_scope() as session:
        agent = session.get(Agent, session.get(Submission, retired).agent_id)
        agent.retired_at = datetime.now(UTC)
        session.add(agent)
    assert playable_images() == {"img:a2"}
