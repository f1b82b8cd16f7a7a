"""Re-runs in the real Docker sandbox: a finished match played again from its stored seed,
environment version and images, by a worker in cold sandboxes, reported and audited."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time

import pytest
from rq import SimpleWorker
from sqlmodel import select

from jobs.sandbox.factory import runner_for
from jobs.tasks import cold_runner
from rl_arena_app.broker import BUILDS, get_queue, get_redis
from rl_arena_app.db.models import AuditEntry, Match, MatchStatus, Submission, SubmissionStatus
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import BadInput, NotAllowed, NotSignedIn
from rl_arena_app.services.accounts import users
from rl_arena_app.services.admin import actions, audit
from rl_arena_app.services.matches.play import play_match
from rl_arena_app.services.matches.rerun import first_difference
from rl_arena_app.services.storage import read_replay, store_bundle, store_replay
from rl_arena_app.ui.pages.match import rerun_line, rerun_of
from tests.support.agents import FIRST_LEGAL, bundle_from_source
from tests.support.factory import make_agent, make_match, make_user
from tests.support.handlers import run

SEEDED = """\
import random


class Agent:
    def reset(self, info):
        self.rng = random.Random(info["seed"] * 7 + 1)  # its own generator, from the seed

    def act(self, observation, info):
        return self.rng.choice([int(a) for a in info["action_mask"].nonzero()[0]])
"""
UNSEEDED = """\
import random

CHOOSER = random.SystemRandom()  # the OS's entropy: no seed reproduces it


def act(observation, info):
    return CHOOSER.choice([int(a) for a in info["action_mask"].nonzero()[0]])
"""


def ready_version(owner: str, source: str) -> int:
    """A ready version of ``owner``'s agent made of ``source``; its id."""
    digest = store_bundle(bundle_from_source(source))
    with session_scope() as session:
        user = make_user(session=session, email=owner)
        agent = make_agent(session=session, owner=user, env_id="tictactoe", name="bot")
        version = Submission(agent_id=agent.id, env_id="tictactoe", artifact_name="agent.py",
                             artifact_sha256=digest, status=SubmissionStatus.READY)
        session.add(version)
        session.flush()
        return version.id


def played(source_a: str, source_b: str) -> int:
    """A tictactoe match between two agents, played in Docker (warm, as workers play); its id."""
    a = ready_version("a@example.org", source_a)
    b = ready_version("b@example.org", source_b)
    match_id = make_match(a, b, status=MatchStatus.QUEUED, attempts=0, seed=11)
    assert play_match(match_id, runner_for("docker"))
    return match_id


def rerun_by_worker(actor, match_id: int):
    """Start the re-run as ``actor`` and let a worker run it; its finished audit entry."""
    entry = actions.perform(actor, "rerun-match", str(match_id))
    assert entry.outcome == "running"
    SimpleWorker([get_queue(BUILDS)], connection=get_redis()).work(burst=True)
    return audit.entry(entry.entry_id)


@pytest.fixture
def docker_platform(platform, docker_engine):
    return platform


def test_a_deterministic_match_reruns_identical_in_cold_sandboxes_and_is_audited(
        docker_platform, root):
    match_id = played(FIRST_LEGAL, FIRST_LEGAL)
    done = rerun_by_worker(root.account, match_id)
    assert (done.outcome, done.detail, done.target) == ("ok", "identical", str(match_id))
    assert done.actor == root.account.email and done.action == "rerun-match"


def test_an_agent_seeding_its_own_generator_from_the_seed_reruns_identical(docker_platform,
                                                                            root):
    match_id = played(SEEDED, FIRST_LEGAL)
    assert rerun_by_worker(root.account, match_id).detail == "identical"


def test_unseeded_randomness_is_reported_at_the_first_differing_step(docker_platform, root):
    match_id = played(UNSEEDED, SEEDED)
    done = rerun_by_worker(root.account, match_id)
    assert done.outcome == "ok"
    assert done.detail.startswith("differs at game "), done.detail
    assert " step " in done.detail and "action was " in done.detail, done.detail


def test_the_cli_prints_the_outcome_with_its_exit_code(docker_platform):
    match_id = played(FIRST_LEGAL, SEEDED)
    result = cli_with_worker("match", "rerun", str(match_id))
    assert (result.returncode, result.stdout.strip()) == (0, "identical"), result.stderr
    with session_scope() as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "rerun-match")).one()
    assert (entry.actor, entry.outcome, entry.detail) == (audit.CLI, "ok", "identical")


def test_the_cli_exits_1_when_the_rerun_differs(docker_platform):
    match_id = played(UNSEEDED, FIRST_LEGAL)
    result = cli_with_worker("match", "rerun", str(match_id))
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("differs at game "), result.stdout


def test_the_cli_exits_2_when_the_rerun_is_refused(platform):
    result = cli_with_worker("match", "rerun", "42")
    assert result.returncode == 2 and "no match 42" in result.stderr, result.stderr


def test_workers_run_long_actions_without_warm_sandboxes(platform):
    assert cold_runner().settings.warm_sandboxes == 0
    assert platform.warm_sandboxes > 0


def test_a_non_admin_is_refused_and_the_refusal_is_audited(platform, alice):
    with pytest.raises(NotAllowed):
        actions.perform(alice.account, "rerun-match", "1")
    with pytest.raises(NotSignedIn):
        actions.perform(None, "rerun-match", "1")
    refused = audit.recent(5)
    assert [(e.actor, e.action, e.outcome) for e in refused] == [
        (alice.account.email, "rerun-match", "refused")]


@pytest.mark.parametrize("target,message", [("x; rm", "a match id is a number"),
                                            ("99", "no match 99")])
def test_a_bad_target_is_refused_with_a_reason_and_audited(platform, root, target, message):
    with pytest.raises(BadInput, match=message):
        actions.perform(root.account, "rerun-match", target)
    assert audit.recent(1)[0].outcome == "refused"


def test_an_unfinished_match_is_refused(platform, root):
    a = ready_version("a@example.org", FIRST_LEGAL)
    b = ready_version("b@example.org", FIRST_LEGAL)
    match_id = make_match(a, b, status=MatchStatus.QUEUED, attempts=0)
    with pytest.raises(BadInput, match="only a finished match"):
        actions.perform(root.account, "rerun-match", str(match_id))


def test_first_difference_ignores_timings_and_names_game_step_and_field():
    step = {"seat": 0, "agent": 0, "action": 4, "rewards": [0, 0], "state": "s", "time_s": 0.1}
    game = {"index": 0, "seat_agents": [0, 1], "agent_seeds": [1, 2], "initial_state": "i",
            "steps": [step, {**step, "action": 2}], "winner": 0, "returns": [1, -1],
            "forfeit": None, "duration_s": 1.0, "started_at": 5.0}
    slower = {**game, "duration_s": 9.0, "started_at": 7.0,
              "steps": [{**s, "time_s": 0.9} for s in game["steps"]]}
    assert first_difference([game, game], [game, slower]) is None
    other = {**game, "steps": [step, {**step, "action": 5}]}
    assert first_difference([game, game], [game, other]) == \
        "game 1 step 1: action was 2, the re-run gave 5"
    forfeited = {**game, "forfeit": {"agent": 1, "reason": "timeout", "detail": "took 1.2 s"}}
    assert first_difference([forfeited], [game]) == \
        'game 0 step 2: forfeit was {"agent":1,"reason":"timeout"}, the re-run gave null'


def cli_with_worker(*args: str) -> subprocess.CompletedProcess:
    """Run `rl-arena ARGS` in a process while a burst worker here takes what it queues."""
    command = subprocess.Popen([sys.executable, "-m", "rl_arena_app.cli", *args], text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while command.poll() is None and time.monotonic() < deadline:
        SimpleWorker([get_queue(BUILDS)], connection=get_redis()).work(burst=True)
        time.sleep(0.2)
    stdout, stderr = command.communicate(timeout=30)
    return subprocess.CompletedProcess(command.args, command.returncode, stdout, stderr)


# ----------------------------------------------------------------- the match page's button


@pytest.mark.parametrize("role", ["anonymous", "owner", "other"])
def test_the_match_pages_rerun_refuses_anyone_but_an_admin(people, role):
    before = audit.recent(1)
    state = run("MatchState.start_rerun", people[role], 1)
    assert state.rerun_error.startswith("Refused") and state.rerun_entry == 0
    if role != "anonymous":  # an account's refusal is audited; no login, nothing to flood
        assert (audit.recent(1)[0].action, audit.recent(1)[0].outcome) == ("rerun-match",
                                                                           "refused")
    else:
        assert audit.recent(1) == before


def test_the_match_pages_rerun_starts_a_worker_and_shows_its_outcome(docker_platform, people):
    match_id = played(FIRST_LEGAL, FIRST_LEGAL)
    state = run("MatchState.start_rerun", people["admin"], match_id)
    assert state.rerun_error == "" and state.rerun_entry
    entry = audit.entry(state.rerun_entry)
    assert (entry.action, entry.target, entry.outcome) == ("rerun-match", str(match_id),
                                                          "running")
    assert rerun_line(entry).text.startswith("running (0%)")
    SimpleWorker([get_queue(BUILDS)], connection=get_redis()).work(burst=True)
    done = rerun_of(users.account_by_email("boss@example.org"), state.rerun_entry)
    assert (done.outcome, done.text) == ("ok", "identical")


def with_replay_changed(match_id: int, change) -> None:
    """Store the match's replay again with ``change`` applied to it (as if recorded so)."""
    with session_scope() as session:
        match = session.get(Match, match_id)
        replay = json.loads(gzip.decompress(read_replay(match.replay_path)))
        change(replay)
        match.replay_path = store_replay(replay)
        session.add(match)


@pytest.mark.parametrize("change,reason", [
    (lambda r: r.update(env_version="0"), "played on tictactoe version 0 and the arena now runs"),
    (lambda r: r["agents"][1].update(image="rl-arena/agent:old"),
     "player b's image is now rl-arena/agent"),
])
def test_a_match_from_another_env_version_or_image_is_refused_with_the_reason(
        docker_platform, root, change, reason):
    match_id = played(FIRST_LEGAL, FIRST_LEGAL)
    with_replay_changed(match_id, change)
    done = rerun_by_worker(root.account, match_id)
    assert done.outcome == "failed" and reason in done.detail, done.detail
    assert "refused" in done.detail
    result = cli_with_worker("match", "rerun", str(match_id))
    assert result.returncode == 2 and reason in result.stderr, result.stderr
