"""RQ entry points: each takes an id, reloads what it needs, and is safe to run twice."""

from __future__ import annotations


def build_submission(submission_id: int) -> None:
    """Build a submission's image and validate it (queued → building → validating → ready)."""
    from rl_arena_app.services.submissions import build_and_validate

    build_and_validate(submission_id)


def play_match(match_id: int) -> None:
    """Play a queued match in Docker and record its result exactly once."""
    from rl_arena_app.services.matches import play_match as play

    play(match_id)
