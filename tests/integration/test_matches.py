"""Matches against a real database and Redis: matchmaking, playing, recording once, requeueing."""

from __future__ import annotations

import gzip
import hashlib
import threading
from datetime import timedelta
from typing import Any

import pytest
from rq import SimpleWorker
from rq.job import Job
from sqlmodel import select

from jobs.tasks import configured_runner
from rl_arena_app.arena.replay import read_replay
from rl_arena_app.broker import get_queue, get_redis, match_job_id
from rl_arena_app.db.models import (
    Agent,
    EnvState,
    Match,
    MatchStatus,
    Submission,
    SubmissionStatus,
    utcnow,
)
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import InfrastructureError
from rl_arena_app.services import events
from rl_arena_app.services.admin import env_switches
from rl_arena_app.services.matches import pairing, play, queue
from rl_arena_app.services.ratings import leaderboard
from rl_arena_app.settings import get_settings
from tests.support.factory import duel_games, make_match, make_submission
from tests.support.ratings import games_of, recorded, snapshot
from tests.support.rows import all_rows, fetch


def set_env(monkeypatch, **values: Any) -> None:
    """Override settings for this test."""
    for key, value in values.items():
        monkeypatch.setenv(f"RL_ARENA_{key.upper()}", str(value))
    get_settings.cache_clear()


def test_every_seed_the_referee_derives_can_be_stored(platform):
    a, b = make_submission("a@example.org", "a"), make_submission("b@example.org", "b")
    largest = 2**32 - 1  # derive_seed is unsigned 32-bit; PostgreSQL's INTEGER ends at 2**31 - 1
    assert fetch(Match, make_match(a, b, seed=largest)).seed == largest


# ---------------------------------------------------------------------------- record_result


def test_record_result_applies_elo_by_hand(platform):
    a = make_submission("alice@example.org", "a")
    b = make_submission("bob@example.org", "b", rating=1600.0)
    match_id = make_match(a, b)
    assert play.record_result(match_id, duel_games(0), "/tmp/r.json.gz") is True
    expected = 1 / (1 + 10 ** ((1600 - 1500) / 400))
    sa, sb = fetch(Submission, a), fetch(Submission, b)
    assert sa.rating == 1500 + 40 * (1 - expected)
    assert sb.rating == 1600 - 40 * (1 - expected)
    assert (sa.games, sb.games) == (1, 1)
    match = fetch(Match, match_id)
    assert match.status == MatchStatus.FINISHED
    assert (match.points_a, match.points_b) == (1.0, 0.0)
    assert match.replay_path == "/tmp/r.json.gz"
    [game] = games_of(match_id)
    assert (game.score_a, game.outcome, game.index) == (1.0, "win", 0)
    assert snapshot()[1] == [(a, game.id, 1500.0, sa.rating), (b, game.id, 1600.0, sb.rating)]
    board = leaderboard.leaderboard_page("tictactoe").rows
    assert [(r.submission_id, r.elo) for r in board] == [(b, sb.rating), (a, sa.rating)]
    finished = [e for e in events.recent() if e["kind"] == "match_finished"]
    assert finished[0]["match_id"] == match_id


def test_each_side_uses_its_own_k(platform):
    a = make_submission("alice@example.org", "a", games=25)  # K 24
    b = make_submission("bob@example.org", "b")  # K 40
    match_id = make_match(a, b)
    play.record_result(match_id, duel_games(None), None)  # a draw between equals
    assert fetch(Submission, a).rating == 1500.0
    play.record_result(make_match(a, b), duel_games(1), None)
    sa, sb = fetch(Submission, a), fetch(Submission, b)
    assert 1500 - sa.rating == pytest.approx((sb.rating - 1500) * 24 / 40)


def test_forfeit_is_a_loss_for_the_offender(platform):
    a = make_submission("alice@example.org", "a")
    b = make_submission("bob@example.org", "b")
    match_id = make_match(a, b)
    play.record_result(match_id, duel_games(None, None, forfeits={0: 0, 1: 1}), None)
    games = games_of(match_id)
    assert [(g.score_a, g.forfeit_player, g.forfeit_reason) for g in games] == [
        (0.0, 0, "illegal_action"), (1.0, 1, "illegal_action")]
    assert fetch(Match, match_id).points_a == 1.0


def test_record_result_applies_once_sequentially(platform):
    a = make_submission("alice@example.org", "a")
    b = make_submission("bob@example.org", "b")
    match_id = make_match(a, b)
    assert play.record_result(match_id, duel_games(0, 1), None)
    rating = fetch(Submission, a).rating
    assert not play.record_result(match_id, duel_games(0, 0), None)
    assert fetch(Submission, a).rating == rating
    assert recorded() == (2, 4)


def test_record_result_needs_a_running_match(platform):
    a = make_submission("alice@example.org", "a")
    b = make_submission("bob@example.org", "b")
    match_id = make_match(a, b, status=MatchStatus.QUEUED, attempts=0)
    assert not play.record_result(match_id, duel_games(0), None)
    assert recorded() == (0, 0) and fetch(Match, match_id).status == MatchStatus.QUEUED


def test_record_result_applies_once_concurrently(platform):
    a = make_submission("alice@example.org", "a")
    b = make_submission("bob@example.org", "b")
    match_ids = [make_match(a, b) for _ in range(5)]
    for match_id in match_ids:
        barrier = threading.Barrier(2)
        results: list[bool] = []

        def record(match_id: int = match_id, barrier: threading.Barrier = barrier,
                   results: list[bool] = results) -> None:
            barrier.wait()
            results.append(play.record_result(match_id, duel_games(0, None), None))

        threads = [threading.Thread(target=record) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [False, True]
    assert recorded() == (10, 20)
    assert fetch(Submission, a).games == 10


# ------------------------------------------------------------------------------ play_match


def test_play_match_plays_records_and_writes_the_replay(process_sandbox):
    a = make_submission("alice@example.org", "a")
    b = make_submission("bob@example.org", "b")
    match_id = make_match(a, b, status=MatchStatus.QUEUED, attempts=0)
    assert play.play_match(match_id, configured_runner()) is True
    match = fetch(Match, match_id)
    assert match.status == MatchStatus.FINISHED and match.attempts == 1
    assert match.worker and match.started_at is not None
    assert match.points_a + match.points_b == 2
    assert match.replay_path.startswith("replays/")  # content-addressed, relative to data dir
    replay_file = get_settings().data_dir / match.replay_path  # the local store's layout
    digest = hashlib.sha256(gzip.decompress(replay_file.read_bytes())).hexdigest()
    assert replay_file.name == f"{digest}.json.gz"
    replay = read_replay(replay_file)
    assert replay["seed"] == 7 and len(replay["games"]) == 2
    assert recorded() == (2, 4) and fetch(Submission, a).games == 2
    assert play.play_match(match_id, configured_runner()) is False  # a second run does nothing
    assert recorded() == (2, 4)


def test_infrastructure_errors_requeue_then_fail(process_sandbox, monkeypatch):
    set_env(monkeypatch, match_max_attempts=2)
    a = make_submission("alice@example.org", "a")
    b = make_submission("bob@example.org", "b")
    match_id = make_match(a, b, status=MatchStatus.QUEUED, attempts=0)

    def broken(*_args: Any) -> None:
        raise InfrastructureError("docker went away")

    monkeypatch.setattr(play, "_play", broken)
    with pytest.raises(InfrastructureError):
        play.play_match(match_id, configured_runner())
    match = fetch(Match, match_id)
    assert (match.status, match.attempts, match.deadline) == (MatchStatus.QUEUED, 1, None)
    assert "docker went away" in match.error
    with pytest.raises(InfrastructureError):
        play.play_match(match_id, configured_runner())
    match = fetch(Match, match_id)
    assert (match.status, match.attempts) == (MatchStatus.FAILED, 2)
    assert play.play_match(match_id, configured_runner()) is False
    assert recorded() == (0, 0)


def test_rq_worker_plays_what_the_tick_enqueued(process_sandbox):
    subs = [make_submission(f"u{k}@example.org", f"a{k}") for k in range(4)]
    made = pairing.matchmaking_tick("tictactoe", seed=1)
    assert len(made) == 2
    worker = SimpleWorker([get_queue("matches")], connection=get_redis())
    worker.work(burst=True)
    assert {m.status for m in all_rows(Match)} == {MatchStatus.FINISHED}
    assert sum(fetch(Submission, s).games for s in subs) == 8


@pytest.mark.docker
def test_play_match_in_docker(platform, docker_engine, monkeypatch):
    from jobs.sandbox.docker import owner_tag
    from jobs.sandbox.pool import close_pools

    set_env(monkeypatch, sandbox="docker")
    a = make_submission("alice@example.org", "a", "connect_four")
    b = make_submission("bob@example.org", "b", "connect_four", agent_ref="lookahead")
    match_id = make_match(a, b, "connect_four", status=MatchStatus.QUEUED, attempts=0)
    try:
        assert play.play_match(match_id, configured_runner()) is True
    finally:
        docker_engine.drain()
    match = fetch(Match, match_id)
    assert match.status == MatchStatus.FINISHED
    games = games_of(match_id)
    assert len(games) == 2 and all(g.forfeit_player is None for g in games)
    assert read_replay(get_settings().data_dir / match.replay_path)["env"] == "connect_four"
    # The two agents stay warm for their next matches, until the pool closes (at exit).
    assert len(docker_engine.managed_containers(owner=owner_tag())) == 2
    close_pools()
    docker_engine.drain()
    assert not docker_engine.managed_containers(owner=owner_tag())


# -------------------------------------------------------------------------- matchmaking


def test_tick_pairs_enqueues_and_counts_waiting(platform):
    subs = [make_submission(f"u{k}@example.org", f"a{k}", rating=1500 + 10 * k)
            for k in range(5)]
    made = pairing.matchmaking_tick("tictactoe", seed=3)
    assert len(made) == 2
    rows = all_rows(Match)
    paired = [s for m in rows for s in (m.player_a_id, m.player_b_id)]
    assert len(set(paired)) == 4 and all(m.status == MatchStatus.QUEUED for m in rows)
    queued = get_queue("matches").job_ids
    assert sorted(queued) == sorted(match_job_id(m, 0) for m in made)
    (left,) = set(subs) - set(paired)
    assert fetch(Submission, left).waited_ticks == 1
    assert fetch(EnvState, "tictactoe").tick == 1
    # Everyone else has an open match: nothing new, and they do not count as waiting.
    assert pairing.matchmaking_tick("tictactoe") == []
    assert fetch(Submission, left).waited_ticks == 2
    assert all(fetch(Submission, s).waited_ticks == 0 for s in paired)


def test_tick_is_deterministic_given_the_seed(platform):
    for k in range(6):
        make_submission(f"u{k}@example.org", f"a{k}", rating=1500 + 7 * k)
    first = pairing.matchmaking_tick("tictactoe", seed=11)
    pairs = [(m.player_a_id, m.player_b_id, m.seed) for m in all_rows(Match)]
    with session_scope() as session:
        for m in session.exec(select(Match)).all():
            session.delete(m)
    assert len(first) == 3
    pairing.matchmaking_tick("tictactoe", seed=11)
    assert [(m.player_a_id, m.player_b_id, m.seed) for m in all_rows(Match)] == pairs


def test_tick_respects_pause_solo_and_unready(platform):
    make_submission("alice@example.org", "a")
    make_submission("bob@example.org", "b")
    make_submission("carol@example.org", "c", status=SubmissionStatus.BUILDING)
    env_switches.pause_matchmaking("tictactoe")
    assert pairing.matchmaking_tick("tictactoe") == []
    env_switches.resume_matchmaking("tictactoe")
    assert len(pairing.matchmaking_tick("tictactoe")) == 1
    assert pairing.matchmaking_tick("CartPole-v1") == []


def test_tick_stops_at_the_queue_cap(platform, monkeypatch):
    set_env(monkeypatch, match_queue_max=2)
    for k in range(8):
        make_submission(f"u{k}@example.org", f"a{k}")
    assert len(pairing.matchmaking_tick("tictactoe")) == 2
    assert pairing.matchmaking_tick("tictactoe") == []


def test_tick_never_pairs_one_owner_unless_house(platform):
    make_submission("alice@example.org", "a1")
    make_submission("alice@example.org", "a2")
    assert pairing.matchmaking_tick("tictactoe") == []
    make_submission("house@rl-arena.local", "h1", house=True)
    made = pairing.matchmaking_tick("tictactoe")
    assert len(made) == 1
    match = fetch(Match, made[0])
    owners = set()
    with session_scope() as session:
        for sub_id in (match.player_a_id, match.player_b_id):
            sub = session.get(Submission, sub_id)
            owners.add(session.get(Agent, sub.agent_id).owner_id)
    assert len(owners) == 2


def test_tick_avoids_recent_opponents(platform):
    # Two tight pairs, all four within each other's window: nearest-rating pairing alone would
    # make the same two pairs every tick; only the recent-opponent rule changes them.
    a, b, c, d = (make_submission(f"u{k}@example.org", f"a{k}", rating=rating)
                  for k, rating in enumerate((1500.0, 1510.0, 1560.0, 1570.0)))
    for _ in range(2):
        pairing.matchmaking_tick("tictactoe")
        with session_scope() as session:  # finish every match
            for m in session.exec(select(Match)).all():
                m.status = MatchStatus.FINISHED
    pairs = [frozenset((m.player_a_id, m.player_b_id)) for m in all_rows(Match)]
    assert set(pairs[:2]) == {frozenset((a, b)), frozenset((c, d))}
    assert len(pairs) == 4 and not set(pairs[2:]) & set(pairs[:2])


# ------------------------------------------------------------------------------- requeue


def test_requeue_stale_requeues_then_fails(platform, monkeypatch):
    set_env(monkeypatch, match_max_attempts=2)
    a = make_submission("alice@example.org", "a")
    b = make_submission("bob@example.org", "b")
    past = utcnow() - timedelta(seconds=5)
    stale = make_match(a, b, deadline=past, worker="dead:1")
    fresh = make_match(a, b, deadline=utcnow() + timedelta(hours=1))
    done = make_match(a, b, status=MatchStatus.RUNNING, attempts=2, deadline=past)
    assert queue.requeue_stale() == [stale]
    match = fetch(Match, stale)
    assert (match.status, match.worker, match.deadline) == (MatchStatus.QUEUED, None, None)
    assert get_queue("matches").job_ids == [match_job_id(stale, 1)]
    assert fetch(Match, fresh).status == MatchStatus.RUNNING
    assert fetch(Match, done).status == MatchStatus.FAILED
    assert "deadline" in fetch(Match, done).error
    assert queue.requeue_stale() == []


def test_requeue_stale_takes_back_a_match_whose_worker_left_redis(platform):
    """A worker SIGKILLed mid-match (a compose replica, a lost host) drops out of Redis within
    its heartbeat's time to live: its match comes back a minute after it started, not at its
    deadline. A live worker's long match, and a match claimed moments ago, stay."""
    a = make_submission("alice@example.org", "a")
    b = make_submission("bob@example.org", "b")
    alive = SimpleWorker([get_queue("matches")], connection=get_redis(), name="alive")
    alive.register_birth()
    try:
        later, long_ago = utcnow() + timedelta(hours=1), utcnow() - timedelta(minutes=5)
        orphan = make_match(a, b, deadline=later, started_at=long_ago, worker="gone-host:7")
        playing = make_match(a, b, deadline=later, started_at=long_ago,
                             worker=f"{alive.hostname}:{alive.pid}")
        just_claimed = make_match(a, b, deadline=later, started_at=utcnow(), worker="gone-host:7")

        assert queue.requeue_stale() == [orphan]
        assert fetch(Match, orphan).status == MatchStatus.QUEUED
        assert "worker gone-host:7 gone on attempt 1" in fetch(Match, orphan).error
        assert get_queue("matches").job_ids == [match_job_id(orphan, 1)]
        assert fetch(Match, playing).status == MatchStatus.RUNNING
        assert fetch(Match, just_claimed).status == MatchStatus.RUNNING
    finally:
        alive.register_death()


def test_requeue_pending_after_a_flush(platform):
    for k in range(4):
        make_submission(f"u{k}@example.org", f"a{k}")
    made = pairing.matchmaking_tick("tictactoe")
    assert queue.requeue_pending() == []  # all on the queue
    get_redis().flushdb()
    assert sorted(queue.requeue_pending()) == sorted(made)
    assert sorted(get_queue("matches").job_ids) == sorted(match_job_id(m, 0) for m in made)
    assert queue.requeue_pending() == []


def test_requeue_pending_skips_jobs_waiting_for_a_retry(platform):
    a = make_submission("alice@example.org", "a")
    b = make_submission("bob@example.org", "b")
    match_id = make_match(a, b, status=MatchStatus.QUEUED, attempts=1)
    job = queue.enqueue_match(match_id, 0)  # RQ retries keep the first job's id
    assert queue.requeue_pending() == []
    job.delete()
    assert Job.fetch_many([match_job_id(match_id, 0)], connection=get_redis()) == [None]
    assert queue.requeue_pending() == [match_id]


def test_a_dead_workers_match_is_replayed_and_applied_once(process_sandbox):
    a = make_submission("alice@example.org", "a")
    b = make_submission("bob@example.org", "b")
    match_id = make_match(a, b, status=MatchStatus.QUEUED, attempts=0)
    with session_scope() as session:  # a worker claimed it, then died
        match = session.get(Match, match_id)
        match.status, match.attempts, match.worker = MatchStatus.RUNNING, 1, "dead:1"
        match.deadline = utcnow() - timedelta(seconds=1)
    assert queue.requeue_stale() == [match_id]
    SimpleWorker([get_queue("matches")], connection=get_redis()).work(burst=True)
    match = fetch(Match, match_id)
    assert (match.status, match.attempts) == (MatchStatus.FINISHED, 2)
    # The "dead" worker comes back with its own result: nothing more is applied.
    assert play.record_result(match_id, duel_games(0, 0), None) is False
    assert recorded() == (2, 4)
