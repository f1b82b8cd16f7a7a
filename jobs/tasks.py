"""RQ entry points: each takes an id, reloads what it needs, and is safe to run twice."""

from __future__ import annotations

import logging
import time

from jobs.sandbox.factory import runner_for
from rl_arena_app.arena.sandbox import SandboxRunner
from rl_arena_app.logs import log_context
from rl_arena_app.services import metrics
from rl_arena_app.settings import get_settings

log = logging.getLogger("rl_arena.jobs")


def configured_runner() -> SandboxRunner:
    """The sandbox runner the settings name (Docker unless configured otherwise)."""
    return runner_for(get_settings().sandbox)


def cold_runner() -> SandboxRunner:
    """The configured runner without warm sandboxes: each agent in a fresh container or process
    (what a re-run must use to reproduce a match from scratch)."""
    settings = get_settings()
    return runner_for(settings.sandbox, settings.model_copy(update={"warm_sandboxes": 0}))


def build_submission(submission_id: int) -> None:
    """Build a submission's image and validate it (queued → building → validating → ready)."""
    from rl_arena_app.services.submissions.builds import build_and_validate

    started = time.perf_counter()
    with log_context(submission_id=submission_id):
        done = build_and_validate(submission_id, configured_runner())
        if done is not None:
            took = time.perf_counter() - started
            metrics.count("rl_arena_builds_total", env=done.env_id, status=done.status)
            metrics.observe("rl_arena_build_duration_seconds", took, env=done.env_id)
            log.info("submission %s (%s v%s): %s in %.1f s%s", submission_id, done.env_id,
                     done.version, done.status, took, f" — {done.reason}" if done.reason else "")


def play_match(match_id: int) -> None:
    """Play a queued match in Docker and record its result exactly once."""
    from rl_arena_app.services.matches.play import play_match as play

    started = time.perf_counter()
    with log_context(match_id=match_id):
        if play(match_id, configured_runner()):
            log.info("match %s played and recorded in %.1f s", match_id,
                     time.perf_counter() - started)
        else:
            log.info("match %s was not queued (already played or taken): nothing to do",
                     match_id)


def admin_action(entry_id: int) -> None:
    """Run a long admin action (rebuild ratings or images, re-run a match) in cold sandboxes and
    report on its audit entry."""
    from rl_arena_app.services.admin.actions import run_long

    done = run_long(entry_id, cold_runner())
    if done is not None:
        log.info("admin action %s (%s %s): %s — %s", entry_id, done.action, done.target or "all",
                 done.outcome, done.detail)
