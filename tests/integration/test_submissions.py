"""The submissions pipeline against a real database, a real Redis and real Docker."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from rq import Queue

from jobs.sandbox.factory import runner_for
from jobs.tasks import configured_runner
from rl_arena_app.arena.replay import read_replay
from rl_arena_app.broker import build_job_id
from rl_arena_app.cli import main
from rl_arena_app.db.models import Agent, Submission, SubmissionStatus, User
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import BadAgent, BadInput, InfrastructureError
from rl_arena_app.services import events
from rl_arena_app.services.bootstrap import seed_house_agents
from rl_arena_app.services.submissions import builds, intake
from rl_arena_app.services.submissions import listing as subs
from rl_arena_app.settings import get_settings
from tests.support.agents import FIRST_LEGAL, HOSTILE_DIR
from tests.support.files import write, zip_file
from tests.support.rows import count, fetch

BALANCE = """\
def act(observation, info):
    return 0 if observation[2] + 0.5 * observation[3] < 0 else 1
"""
OWNER = "alice@example.org"
UNREACHABLE_DOCKER = "unix:///nonexistent/docker.sock"  # a real client error, nothing patched


def builds_queue() -> Queue:
    from rl_arena_app.broker import get_queue

    return get_queue("builds")


def random_submission() -> Submission:
    """A submission of builtin:random, not queued for a build."""
    return intake.submit("builtin:random", env_id="tictactoe", name="rnd", owner_email=OWNER,
                         enqueue=False)


def built_random() -> Submission:
    """A submission of builtin:random, built and validated as the worker does."""
    submission = random_submission()
    builds.build_and_validate(submission.id, configured_runner())
    return submission


def statuses(submission_id: int) -> list[str]:
    """Published statuses of a submission, oldest first."""
    return [e["status"] for e in reversed(events.recent(200))
            if e["kind"] == "submission_status" and e["submission_id"] == submission_id]


@pytest.fixture
def docker_platform(platform, docker_engine, monkeypatch):
    """The platform with the Docker sandbox; afterwards, once this process's warm sandboxes are
    closed, no container of ours is left."""
    from jobs.sandbox.docker import owner_tag
    from jobs.sandbox.pool import close_pools

    monkeypatch.setenv("RL_ARENA_SANDBOX", "docker")
    get_settings.cache_clear()
    yield get_settings()
    close_pools()
    docker_engine.drain()
    left = docker_engine.managed_containers(owner=owner_tag())
    assert not left, f"containers left behind: {[c.name for c in left]}"


# ------------------------------------------------------------------------------- build, Docker


@pytest.mark.docker
def test_good_duel_agent_is_built_validated_and_ready(docker_platform, tmp_path):
    submission = intake.submit(write(tmp_path / "agent.py", FIRST_LEGAL), env_id="tictactoe",
                             name="first-legal", owner_email=OWNER)
    assert submission.status == SubmissionStatus.QUEUED and submission.version == 1
    assert builds_queue().job_ids == [build_job_id(submission.id)]
    job = builds_queue().fetch_job(build_job_id(submission.id))
    assert job.func_name == "jobs.tasks.build_submission" and job.args == (submission.id,)

    builds.build_and_validate(submission.id, configured_runner())

    done = fetch(Submission, submission.id)
    assert done.status == SubmissionStatus.READY, (done.reason, done.log_tail)
    assert done.image and done.image.startswith("rl-arena/agent:")
    assert done.reason is None and done.games == 0
    replay = read_replay(docker_platform.data_dir / done.validation_replay)
    assert replay["env"] == "tictactoe" and replay["agents"][1]["ref"] == "builtin:random"
    assert statuses(submission.id) == ["queued", "building", "validating", "ready"]


@pytest.mark.docker
def test_building_twice_does_nothing_the_second_time(docker_platform):
    submission = built_random()
    first = fetch(Submission, submission.id)
    assert first.status == SubmissionStatus.READY

    builds.build_and_validate(submission.id, configured_runner())

    again = fetch(Submission, submission.id)
    assert again.updated_at == first.updated_at and again.image == first.image
    assert statuses(submission.id) == ["queued", "building", "validating", "ready"]


@pytest.mark.docker
def test_a_rebuilt_image_is_recorded_without_announcing_the_version_again(docker_platform):
    submission = built_random()
    with session_scope() as session:  # as if the base image moved on since it was built
        session.get(Submission, submission.id).image = "rl-arena/agent:stale"
    announced = len(events.recent(1000))

    assert builds.rebuild_image(submission.id, configured_runner())

    image = fetch(Submission, submission.id).image
    assert image.startswith("rl-arena/agent:") and image != "rl-arena/agent:stale"
    assert len(events.recent(1000)) == announced, "a rebuilt image announced as newly ready"
    assert statuses(submission.id) == ["queued", "building", "validating", "ready"]


@pytest.mark.docker
def test_an_rq_worker_runs_the_enqueued_build(docker_platform):
    from rq import SimpleWorker

    submission = intake.submit("builtin:random", env_id="connect_four", name="rnd",
                             owner_email=OWNER)
    queue = builds_queue()

    assert SimpleWorker([queue], connection=queue.connection).work(burst=True)

    assert fetch(Submission, submission.id).status == SubmissionStatus.READY
    assert queue.count == 0 and queue.finished_job_registry.count == 1


@pytest.mark.docker
@pytest.mark.parametrize(("source", "reason", "in_log"), [
    ("def act(observation, info:\n    return 0\n", "crash", "SyntaxError"),
    ((HOSTILE_DIR / "illegal_square.py").read_text(), "illegal_action", ""),
], ids=["syntax-error", "illegal-moves"])
def test_broken_duel_agent_fails_with_reason_and_log_tail(docker_platform, tmp_path, source,
                                                          reason, in_log):
    submission = intake.submit(write(tmp_path / "agent.py", source), env_id="tictactoe",
                             name="broken", owner_email=OWNER)

    builds.build_and_validate(submission.id, configured_runner())

    done = fetch(Submission, submission.id)
    assert done.status == SubmissionStatus.FAILED
    assert done.reason.startswith(f"validation game 1: {reason} — "), done.reason
    assert done.log_tail and in_log in done.log_tail
    assert statuses(submission.id)[-1] == "failed"
    shown = CliRunner().invoke(main, ["agent", "show", str(submission.id), "--json"])
    assert shown.exit_code == 0, shown.output
    row = json.loads(shown.output)
    assert row["status"] == "failed" and row["reason"] == done.reason
    assert row["log_tail"] == done.log_tail


@pytest.mark.docker
def test_solo_agent_is_scored_over_the_envs_episodes(docker_platform, tmp_path):
    submission = intake.submit(write(tmp_path / "balance.py", BALANCE), env_id="CartPole-v1",
                             name="balance", owner_email=OWNER, enqueue=False)

    builds.build_and_validate(submission.id, configured_runner())

    done = fetch(Submission, submission.id)
    assert done.status == SubmissionStatus.READY, (done.reason, done.log_tail)
    assert done.score_mean is not None and done.score_mean > 30
    assert done.score_std is not None and done.score_std >= 0
    assert done.artifact_name == "balance.py"
    assert on_leaderboard("CartPole-v1", submission.id) == done.score_mean


# ------------------------------------------------------------------ build failures, no Docker


def test_bad_requirements_at_build_fail_the_submission(platform, monkeypatch):
    submission = random_submission()

    builds.build_and_validate(submission.id, FailingRunner(
        BadAgent("requirements.txt cannot be installed as binary wheels: no such-pkg")))

    done = fetch(Submission, submission.id)
    assert done.status == SubmissionStatus.FAILED
    assert "cannot be installed as binary wheels" in done.reason


def test_infrastructure_error_leaves_the_submission_queued_for_a_retry(platform, monkeypatch):
    submission = random_submission()

    monkeypatch.setenv("DOCKER_HOST", UNREACHABLE_DOCKER)
    with pytest.raises(InfrastructureError, match="Docker engine not reachable"):
        builds.build_and_validate(submission.id, runner_for("docker"))

    assert fetch(Submission, submission.id).status == SubmissionStatus.QUEUED
    assert builds.requeue_unfinished() == [submission.id]
    assert builds.requeue_unfinished() == []  # its job is queued now
    assert builds_queue().count == 1


def test_a_build_that_exhausts_its_retries_fails_with_an_infrastructure_reason(
        platform, monkeypatch):
    from rq import SimpleWorker
    from rq.job import Job

    submission = intake.submit("builtin:random", env_id="tictactoe", name="rnd",
                             owner_email=OWNER)
    queue = builds_queue()
    job = Job.fetch(build_job_id(submission.id), connection=queue.connection)
    job.retries_left = 0  # as if the earlier attempts had failed already
    job.save()

    monkeypatch.setenv("RL_ARENA_SANDBOX", "docker")
    monkeypatch.setenv("DOCKER_HOST", UNREACHABLE_DOCKER)
    get_settings.cache_clear()
    SimpleWorker([queue], connection=queue.connection).work(burst=True)

    done = fetch(Submission, submission.id)
    assert done.status == SubmissionStatus.FAILED
    assert "not your agent's fault" in done.reason and "Docker engine" in done.reason
    assert builds.requeue_unfinished() == []


def test_inprocess_sandbox_validates_builtin_submissions(platform, monkeypatch):
    monkeypatch.setenv("RL_ARENA_SANDBOX", "inprocess")
    get_settings.cache_clear()
    submission = intake.submit("builtin:minimax", env_id="tictactoe", name="minimax",
                             owner_email=OWNER, enqueue=False)
    builds.build_and_validate(submission.id, configured_runner())
    assert fetch(Submission, submission.id).status == SubmissionStatus.READY
    assert on_leaderboard("tictactoe", submission.id) == fetch(Submission, submission.id).rating


@dataclass(frozen=True)
class FailingRunner:
    """A runner whose preparation fails: what the services do with each kind of failure."""

    error: Exception
    kind: str = "docker"

    def prepare(self, bundles, progress=None):
        raise self.error


def on_leaderboard(env_id: str, submission_id: int) -> float | None:
    """The submission's score on the env's leaderboard (None when absent)."""
    from rl_arena_app.services.ratings.leaderboard import leaderboard_page

    rows = leaderboard_page(env_id, limit=200).rows
    return next((r.score for r in rows if r.submission_id == submission_id), None)


# -------------------------------------------------------------------------- refused uploads


def _traversal_zip(tmp_path: Path) -> str:
    return zip_file(tmp_path / "evil.zip", {"agent.py": FIRST_LEGAL, "../escape.py": "x = 1\n"})


REFUSED = [
    ("unknown-env", lambda p: ("chess", write(p / "agent.py", FIRST_LEGAL), "ok", OWNER),
     "unknown environment 'chess'"),
    ("no-agent-py", lambda p: ("tictactoe", zip_file(p / "a.zip", {"helper.py": FIRST_LEGAL}),
                               "ok", OWNER), "has no agent.py"),
    ("path-traversal", lambda p: ("tictactoe", _traversal_zip(p), "ok", OWNER),
     "'..' component"),
    ("oversize", lambda p: ("tictactoe", write(p / "agent.py", FIRST_LEGAL + "#" * 2**21),
                            "ok", OWNER), "larger than 1.0 MiB"),
    ("missing-file", lambda p: ("tictactoe", str(p / "nope.py"), "ok", OWNER),
     "does not exist"),
    ("bad-requirements", lambda p: ("tictactoe", zip_file(p / "r.zip", {
        "agent.py": FIRST_LEGAL, "requirements.txt": "git+https://example.org/x.git\n"}),
        "ok", OWNER), "URL or local path"),
    ("bad-name", lambda p: ("tictactoe", write(p / "agent.py", FIRST_LEGAL), "my agent!", OWNER),
     "agent name 'my agent!' is not allowed"),
    ("bad-owner", lambda p: ("tictactoe", write(p / "agent.py", FIRST_LEGAL), "ok", "alice"),
     "is not an email address"),
    ("builtin-wrong-env", lambda p: ("CartPole-v1", "builtin:minimax", "ok", OWNER),
     "plays only tictactoe"),
]


@pytest.mark.parametrize(("make", "message"), [(m, msg) for _, m, msg in REFUSED],
                         ids=[case for case, _, _ in REFUSED])
def test_malformed_upload_is_refused_and_nothing_is_stored(platform, tmp_path, monkeypatch,
                                                           make, message):
    monkeypatch.setenv("RL_ARENA_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    env_id, ref, name, owner = make(tmp_path)

    with pytest.raises(BadInput, match=message):
        intake.submit(ref, env_id=env_id, name=name, owner_email=owner)

    assert_nothing_stored()


def assert_nothing_stored() -> None:
    artifacts = get_settings().artifacts_dir
    assert not artifacts.exists() or not any(p.is_file() for p in artifacts.rglob("*"))
    assert (count(User), count(Agent), count(Submission)) == (0, 0, 0)
    assert builds_queue().count == 0


def test_unknown_env_message_points_at_the_envs_command(platform, tmp_path):
    with pytest.raises(BadInput, match=r"see `rl-arena env list`"):
        intake.submit(write(tmp_path / "agent.py", FIRST_LEGAL), env_id="chess", name="ok",
                    owner_email=OWNER)


def test_redis_down_refuses_before_storing(platform, tmp_path, monkeypatch):
    monkeypatch.setenv("RL_ARENA_REDIS_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    with pytest.raises(InfrastructureError, match="Redis not reachable"):
        intake.submit(write(tmp_path / "agent.py", FIRST_LEGAL), env_id="tictactoe", name="ok",
                    owner_email=OWNER)
    assert (count(User), count(Agent), count(Submission)) == (0, 0, 0)
    assert not get_settings().artifacts_dir.exists()


# ------------------------------------------------------------------------- versions, seeding


def test_new_version_starts_from_its_predecessors_rating(platform, tmp_path):
    first = intake.submit(write(tmp_path / "agent.py", FIRST_LEGAL), env_id="tictactoe",
                        name="mine", owner_email=OWNER, enqueue=False)
    assert (first.version, first.initial_rating) == (1, platform.elo_start)
    with session_scope() as session:
        row = session.get(Submission, first.id)
        row.rating, row.games = 1612.5, 12
        session.add(row)

    second = intake.submit("builtin:random", env_id="tictactoe", name="mine",
                         owner_email=OWNER.upper(), enqueue=False)

    assert second.version == 2 and second.agent_id == first.agent_id
    assert (second.initial_rating, second.rating, second.games) == (1612.5, 1612.5, 0)
    other = intake.submit("builtin:random", env_id="connect_four", name="mine",
                        owner_email=OWNER, enqueue=False)
    assert (other.version, other.initial_rating) == (1, platform.elo_start)
    assert count(User) == 1


def test_house_agents_are_seeded_once(platform):
    created = seed_house_agents()

    rows = subs.list_submissions()
    assert len(created) == len(rows) and {r["submission"] for r in rows} == set(created)
    assert all(r["owner"] == platform.house_owner and r["house"] for r in rows)
    by_env = {}
    for row in rows:
        by_env.setdefault(row["env"], set()).add(row["agent"])
    assert by_env["tictactoe"] == {"random", "minimax"}
    assert by_env["connect_four"] == {"random", "lookahead"}
    assert by_env["CartPole-v1"] == {"random"}
    assert builds_queue().count == len(created)
    assert seed_house_agents() == []
    assert len(subs.list_submissions()) == len(created)


def test_db_upgrade_seed_enters_the_house_agents_of_a_new_arena_once(platform):
    """Compose's one-shot migration: `rl-arena db upgrade --seed`, run at every `up`."""
    first = CliRunner().invoke(main, ["db", "upgrade", "--seed"])
    again = CliRunner().invoke(main, ["db", "upgrade", "--seed"])
    plain = CliRunner().invoke(main, ["db", "upgrade"])

    assert first.exit_code == 0, first.output
    seeded = len(subs.list_submissions())
    assert seeded >= 5 and f"entered {seeded} house agents" in first.output
    assert again.exit_code == 0 and "house agents already in" in again.output
    assert plain.exit_code == 0 and "house agents" not in plain.output
    assert len(subs.list_submissions()) == seeded == builds_queue().count


# ------------------------------------------------------------------------------------- CLI


def test_cli_agent_add_list_and_show(platform, tmp_path):
    runner = CliRunner()
    path = write(tmp_path / "agent.py", FIRST_LEGAL)

    added = runner.invoke(main, ["agent", "add", "tictactoe", path, "--name", "cli-agent",
                                 "--owner", OWNER, "--json"])
    assert added.exit_code == 0, added.output
    row = json.loads(added.output)
    assert row["status"] == "queued" and row["agent"] == "cli-agent" and row["version"] == 1
    assert builds_queue().job_ids == [build_job_id(row["submission"])]

    plain = runner.invoke(main, ["agent", "add", "tictactoe", path, "--name", "cli-agent",
                                 "--owner", OWNER])
    assert plain.exit_code == 0, plain.output
    assert "cli-agent v2" in plain.output and "queued" in plain.output

    listed = runner.invoke(main, ["agent", "list", "tictactoe", "--json"])
    assert listed.exit_code == 0
    assert [r["version"] for r in json.loads(listed.output)] == [1, 2]
    assert "cli-agent v2" in runner.invoke(main, ["agent", "list"]).output
    shown = runner.invoke(main, ["agent", "show", str(row["submission"])])
    assert shown.exit_code == 0 and "queued" in shown.output


@pytest.mark.parametrize(("args", "message"), [
    (["agent", "add", "chess", "builtin:random", "--name", "x", "--owner", OWNER],
     "unknown environment 'chess'"),
    (["agent", "add", "tictactoe", "nowhere.py", "--name", "x", "--owner", OWNER],
     "does not exist"),
    (["agent", "show", "999"], "no submission 999"),
    (["agent", "list", "chess"], "unknown environment"),
])
def test_cli_bad_input_exits_2_with_one_line(platform, args, message):
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 2, done.output
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert count(Submission) == 0


def test_cli_add_without_redis_exits_3_with_advice(platform, tmp_path, monkeypatch):
    monkeypatch.setenv("RL_ARENA_REDIS_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    done = CliRunner().invoke(main, ["agent", "add", "tictactoe", "builtin:random", "--name",
                                     "x", "--owner", OWNER])
    assert done.exit_code == 3, done.output
    assert "Redis not reachable" in done.output and "rl-arena up" in done.output
    assert count(Submission) == 0
