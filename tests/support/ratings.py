"""A rating history to rebuild, and the rated state to compare before and after (submissions,
rating events, the games recorded)."""

from __future__ import annotations

import random

from sqlmodel import select

from rl_arena_app.db.models import Game, RatingEvent, Submission
from rl_arena_app.db.session import session_scope
from rl_arena_app.services.matches import play
from tests.support.factory import duel_games, make_match, make_submission
from tests.support.rows import count, fetch


def snapshot() -> tuple[list, list]:
    """Every submission's (id, rating, games) and every rating event, in id order."""
    with session_scope() as session:
        subs = [(s.id, s.rating, s.games) for s in
                session.exec(select(Submission).order_by(Submission.id)).all()]
        evs = [(e.submission_id, e.game_id, e.before, e.after) for e in
               session.exec(select(RatingEvent).order_by(RatingEvent.id)).all()]
    return subs, evs


def games_of(match_id: int) -> list[Game]:
    """The games recorded for a match, in the order they were played."""
    with session_scope() as session:
        return list(session.exec(select(Game).where(Game.match_id == match_id)
                                 .order_by(Game.index)).all())


def recorded() -> tuple[int, int]:
    """How many games and rating events are recorded (each duel game rates both sides)."""
    return count(Game), count(RatingEvent)


def play_history(n_matches: int = 30, seed: int = 5) -> list[int]:
    """Record random results between five submissions (one a v2 starting from v1's rating)."""
    rng = random.Random(seed)
    subs = [make_submission(f"u{k}@example.org", f"a{k}") for k in range(4)]
    for k in range(n_matches):
        if k == n_matches // 2:  # a new version starts from its predecessor's rating
            v1 = fetch(Submission, subs[0])
            subs.append(make_submission("u0@example.org", "a0", version=2, rating=v1.rating))
        a, b = rng.sample(subs, 2)
        winners = [rng.choice([0, 1, None]) for _ in range(2)]
        assert play.record_result(make_match(a, b), duel_games(*winners), None)
    return subs
