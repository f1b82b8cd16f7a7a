"""Submitting under races, limits and hostile text: nothing lost, clear refusals, right blame."""

from __future__ import annotations

import base64
import random
import threading

import pytest
from click.testing import CliRunner
from sqlmodel import select

from jobs.images.requirements.install import install_requirements
from jobs.tasks import configured_runner
from rl_arena_app.cli import main
from rl_arena_app.db.models import Submission, SubmissionStatus, User
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import BadAgent, BadInput
from rl_arena_app.services import storage
from rl_arena_app.services.bootstrap import seed_house_agents
from rl_arena_app.services.submissions import builds, intake
from rl_arena_app.services.submissions import listing as subs
from rl_arena_app.settings import get_settings
from tests.support.agents import FIRST_LEGAL
from tests.support.files import write, zip_file
from tests.support.rows import all_rows
from tests.support.threads import in_parallel

OWNER = "alice@example.org"


# ------------------------------------------------------------------------------------ races


def test_a_lost_race_never_deletes_an_artifact_another_submission_uses(platform, tmp_path,
                                                                       monkeypatch):
    """Two submits of the same bytes meet inside store_bundle; the second one's insert fails."""
    path = write(tmp_path / "agent.py", FIRST_LEGAL)
    both_inside = threading.Barrier(2)
    real_store, real_create = storage.store_bundle, intake._create

    def store_side_by_side(bundle):
        both_inside.wait(10)  # each caller has checked the store before either writes
        return real_store(bundle)

    calls = []

    def create_then_fail_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return real_create(*args, **kwargs)

    monkeypatch.setattr(intake, "store_bundle", store_side_by_side)
    monkeypatch.setattr(intake, "_create", create_then_fail_second)

    _, errors = in_parallel(2, lambda k: intake.submit(path, env_id="tictactoe", name=f"twin{k}",
                                                   owner_email=OWNER, enqueue=False))

    assert [type(e) for e in errors] == [RuntimeError]
    [winner] = all_rows(Submission)
    assert (platform.data_dir / storage.artifact_key(winner.artifact_sha256)).is_file()
    assert builds.submission_bundle(winner).files["agent.py"] == FIRST_LEGAL.encode()


def test_twenty_concurrent_submits_of_one_name_all_get_distinct_versions(platform, tmp_path):
    path = write(tmp_path / "agent.py", FIRST_LEGAL)

    _, errors = in_parallel(20, lambda k: intake.submit(path, env_id="tictactoe", name="crowd",
                                                    owner_email=OWNER, enqueue=False))

    assert errors == []
    assert sorted(s.version for s in all_rows(Submission)) == list(range(1, 21))
    assert len({s.agent_id for s in all_rows(Submission)}) == 1


def test_first_submits_of_a_new_owner_in_parallel_make_one_user(platform, tmp_path):
    path = write(tmp_path / "agent.py", FIRST_LEGAL)

    _, errors = in_parallel(8, lambda k: intake.submit(path, env_id="tictactoe", name=f"bot{k}",
                                                   owner_email="new@example.org", enqueue=False))

    assert errors == []
    with session_scope() as session:
        assert [u.email for u in session.exec(select(User)).all()] == ["new@example.org"]
    assert len(all_rows(Submission)) == 8


# ---------------------------------------------------------------------------- one limit


def test_what_is_accepted_at_submit_builds(platform, tmp_path, monkeypatch):
    """A 30 MiB agent.py (incompressible) is within the configured 50 MiB: its build takes it."""
    monkeypatch.setenv("RL_ARENA_SANDBOX", "process")
    get_settings.cache_clear()
    noise = base64.b64encode(random.Random(0).randbytes(30 * 1024 * 767)).decode()
    big = FIRST_LEGAL + "".join(f"# {noise[k:k + 1021]}\n" for k in range(0, len(noise), 1021))
    submission = intake.submit(write(tmp_path / "big.py", big), env_id="tictactoe", name="big",
                             owner_email=OWNER, enqueue=False)

    done = builds.build_and_validate(submission.id, configured_runner())

    assert done.status == SubmissionStatus.READY, (done.reason, done.log_tail)


def test_a_missing_artifact_is_reported_without_a_server_path(platform, tmp_path):
    submission = intake.submit(write(tmp_path / "agent.py", FIRST_LEGAL), env_id="tictactoe",
                             name="gone", owner_email=OWNER, enqueue=False)
    (platform.data_dir / storage.artifact_key(submission.artifact_sha256)).unlink()

    with pytest.raises(BadInput) as caught:
        builds.submission_bundle(submission)

    assert "agent.py" in str(caught.value) and "submit the agent again" in str(caught.value)
    assert str(platform.data_dir) not in str(caught.value) and "/" not in str(caught.value)


def test_an_upload_over_the_configured_limit_is_refused_at_submit(platform, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setenv("RL_ARENA_MAX_UPLOAD_MB", "2")
    get_settings.cache_clear()
    with pytest.raises(BadAgent, match=r"larger than 2\.0 MiB"):
        intake.submit(write(tmp_path / "agent.py", FIRST_LEGAL + "#" * (3 << 20)),
                    env_id="tictactoe", name="big", owner_email=OWNER, enqueue=False)
    assert all_rows(Submission) == []


# ------------------------------------------------------------------- the submitter's faults


def test_a_file_name_no_file_system_stores_is_refused_at_submit(platform, tmp_path):
    archive = zip_file(tmp_path / "long.zip", {"agent.py": FIRST_LEGAL, "x" * 300 + ".npy": "0"})
    with pytest.raises(BadAgent, match="longer than 255 bytes"):
        intake.submit(archive, env_id="tictactoe", name="long", owner_email=OWNER, enqueue=False)
    assert all_rows(Submission) == []


def test_a_requirement_pip_would_read_as_an_option_is_refused_at_submit(platform, tmp_path):
    archive = zip_file(tmp_path / "req.zip", {
        "agent.py": FIRST_LEGAL,
        "requirements.txt": 'numpy; python_version > " -r /etc/passwd"\n'})
    with pytest.raises(BadAgent, match="pip reads as an option"):
        intake.submit(archive, env_id="tictactoe", name="req", owner_email=OWNER, enqueue=False)
    assert all_rows(Submission) == []


def test_the_build_checks_requirements_again_before_pip(tmp_path):
    """A stored artifact from before a check existed is checked again: pip never sees it."""
    with pytest.raises(BadAgent, match="pip reads as an option"):
        install_requirements('numpy; python_version > " -r /etc/passwd"\n', tmp_path, "3.11")
    assert not (tmp_path / "deps").exists()


def test_pip_refusing_a_requirement_is_the_agents_fault(tmp_path):
    """Real pip, on a version that does not exist: the submitter's fault, told without pip's
    own output."""
    with pytest.raises(BadAgent, match="cannot be installed") as caught:
        install_requirements("six==0.0.1\n", tmp_path / "deps", "3.11")
    assert "'six==0.0.1'" in str(caught.value) and "ERROR" not in str(caught.value)


# ------------------------------------------------------------------------- names and owners


@pytest.mark.parametrize("name", ["evil\n", "evil\r", "\nevil", "ev il", "evil\x1b[31m", "é"])
def test_names_must_match_whole(platform, name):
    with pytest.raises(BadInput, match="is not allowed"):
        intake.check_name(name)


@pytest.mark.parametrize(("owner", "why"), [
    ("alice@example.org\n", "control character"),
    ("\x1b[2Jalice@example.org", "control character"),
    ("ali\u202ece@example.org", "control character"),
    ("<script>alert(1)</script>@example.org", "not an email address"),
    ("house@rl-arena.local", "reserved for the platform's house agents"),
    ("HOUSE@rl-arena.local ", "reserved for the platform's house agents"),
])
def test_owner_text_is_refused_before_anything_is_stored(platform, tmp_path, owner, why):
    path = write(tmp_path / "agent.py", FIRST_LEGAL)
    with pytest.raises(BadInput, match=why):
        intake.submit(path, env_id="tictactoe", name="x", owner_email=owner, enqueue=False)
    assert all_rows(Submission) == []


def test_an_upload_file_name_with_control_characters_is_refused(platform, tmp_path):
    path = write(tmp_path / "agent\x1b[31m.py", FIRST_LEGAL)
    with pytest.raises(BadAgent, match="control character"):
        intake.submit(path, env_id="tictactoe", name="x", owner_email=OWNER, enqueue=False)
    assert all_rows(Submission) == []


def test_only_the_seed_makes_house_agents(platform):
    seed_house_agents(enqueue=False)
    listed = subs.list_submissions("tictactoe")
    assert listed and all(r["house"] and r["owner"] == platform.house_owner for r in listed)

    done = CliRunner().invoke(main, ["agent", "add", "tictactoe", "builtin:random", "--name",
                                     "random", "--owner", platform.house_owner])

    assert done.exit_code == 2 and "reserved for the platform's house agents" in done.output
    assert len(subs.list_submissions("tictactoe")) == len(listed)


# ------------------------------------------------------------------------------ the terminal


def test_agent_list_has_a_header_and_scores_solo_tasks(platform):
    seed_house_agents(enqueue=False)
    with session_scope() as session:
        for row in session.exec(select(Submission)).all():
            row.status = SubmissionStatus.READY
            if row.env_id == "CartPole-v1":
                row.score_mean, row.score_std = 22.25, 3.5
            session.add(row)

    out = CliRunner().invoke(main, ["agent", "list"]).output

    lines = out.splitlines()
    assert lines[0].split()[:5] == ["id", "env", "agent", "owner", "status"]
    cartpole = next(line for line in lines if "CartPole-v1" in line)
    assert "22.2" in cartpole and "1500" not in cartpole
    tictactoe = next(line for line in lines if "tictactoe" in line)
    assert "1500" in tictactoe and "1500.0" not in tictactoe


def test_agent_show_rounds_ratings(platform):
    seed_house_agents(enqueue=False)
    first = subs.list_submissions("tictactoe")[0]["submission"]
    with session_scope() as session:
        row = session.get(Submission, first)
        row.rating, row.games = 1523.123456789012, 3
        session.add(row)

    out = CliRunner().invoke(main, ["agent", "show", str(first)]).output

    assert "1523 after 3 rated game(s)" in out and "1523.12" not in out


def test_leaderboard_explains_its_columns(platform):
    seed_house_agents(enqueue=False)
    with session_scope() as session:
        for row in session.exec(select(Submission)).all():
            row.status = SubmissionStatus.READY
            session.add(row)

    out = CliRunner().invoke(main, ["leaderboard", "tictactoe"]).output

    assert "rank UB" in out and "the best rank the agent could have" in out
    assert f"fewer than {platform.provisional_games} rated games" in out


@pytest.mark.parametrize(("filename", "message"), [
    ("agent\x1b[2J.py", r"the file name 'agent\\x1b\[2J.py' contains the control character "
                        r"U\+001B.*: rename the file"),
    ("notes\u202e.exe", r"contains the control character U\+202E"),  # checked before the type
    ("a" * 300 + ".exe", "is not an agent upload"),  # the type is said before the length
    ("a" * 300 + ".py", r"the file name 'a{40}'… is longer than 255 characters: rename the file"),
])
def test_an_upload_name_is_refused_for_its_first_problem(filename, message):
    with pytest.raises(BadAgent, match=message):
        intake.upload_name(filename)


def test_an_upload_name_keeps_only_its_last_part():
    assert intake.upload_name("C:\\Users\\me\\bots/agent.tar.gz ") == "agent.tar.gz"
