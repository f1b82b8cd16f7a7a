"""No setting's value reaches a submission's reason, log tail or replay, nor the API.

The worker's environment holds a distinctive value for every secret-bearing setting; agents and
requirements then try to get them out, built for real the way a worker builds (the service's
build_and_validate with a real runner: pip on the host, then Docker or the process sandbox).
"""

from __future__ import annotations

import gzip
import os
from urllib.parse import quote

import httpx
import pytest

from jobs.sandbox.factory import runner_for
from rl_arena_app.arena.bundle import AgentBundle
from rl_arena_app.db.models import Submission, SubmissionStatus
from rl_arena_app.errors import BadAgent
from rl_arena_app.services.storage import read_replay
from rl_arena_app.services.submissions import builds, intake
from rl_arena_app.settings import get_settings
from tests.support.api import API, person
from tests.support.database import TEST_DATABASE_URL
from tests.support.files import zip_bytes

FIRST_LEGAL = ("def act(observation, info):\n"
               "    return int(info['action_mask'].nonzero()[0][0])\n")
# Everything the agent can find of its environment: its own variables and its parent's.
SNOOP = """\
import os


def snoop():
    found = [f"{k}={v}" for k, v in os.environ.items()]
    try:
        with open(f"/proc/{os.getppid()}/environ", "rb") as fh:
            found.append(fh.read().decode(errors="replace").replace("\\0", " "))
    except OSError as exc:
        found.append(f"parent: {exc.strerror}")
    print("ENVDUMP", *found)
    return "ENVDUMP " + " ".join(found)
"""
AT_LOAD = SNOOP + "\nraise RuntimeError(snoop())\n"
IN_A_MOVE = SNOOP + "\n\ndef act(observation, info):\n    raise RuntimeError(snoop())\n"
SECRETS = {
    "RL_ARENA_SECRET_KEY": "canary-secret-key-5b1d",
    "RL_ARENA_OIDC_CLIENT_SECRET": "canary-oidc-secret-77ae",
    "RL_ARENA_GITHUB_CLIENT_SECRET": "canary-github-secret-0c3f",
    "RL_ARENA_GOOGLE_CLIENT_SECRET": "canary-google-secret-9d2e",
    "REDIS_URL": "redis://:canary-redis-pass-c0de@127.0.0.1:1/0",
    "RL_ARENA_METRICS_TOKEN": "canary-metrics-token-a11b",
}
DB_CANARY = "canary-db-pass-41fa"
AS_ROOT = os.geteuid() == 0


@pytest.fixture
def canaries(platform, monkeypatch) -> list[str]:
    """Every secret-bearing setting set to a distinctive value in this (the worker's) process;
    the database URL carries one too and still opens the test database."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    url = get_settings().db_url
    if TEST_DATABASE_URL is None:  # SQLite: the canary rides as a URI parameter
        path = url.removeprefix("sqlite:///")
        url = f"sqlite:///file:{quote(path)}?uri=true&password={DB_CANARY}"
    else:
        url = f"{url}{'&' if '?' in url else '?'}application_name={DB_CANARY}"
    monkeypatch.setenv("RL_ARENA_DATABASE_URL", url)
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.secret_key == SECRETS["RL_ARENA_SECRET_KEY"] and DB_CANARY in settings.db_url
    return [*SECRETS.values(), DB_CANARY]


def build(submission_id: int, sandbox: str) -> Submission:
    """Build and validate as a worker does, with the real runner of ``sandbox``."""
    done = builds.build_and_validate(submission_id, runner_for(sandbox, get_settings()))
    assert done is not None
    return done


def everything_shown(done: Submission, api_url: str) -> str:
    """The submission as people see it: reason, log tail, replay, the API's JSON."""
    parts = [done.reason or "", done.log_tail or ""]
    if done.validation_replay:
        raw = read_replay(done.validation_replay)
        parts.append(gzip.decompress(raw).decode())
    reply = httpx.get(f"{api_url}{API}/submissions/{done.id}", timeout=30)
    assert reply.status_code == 200
    parts.append(reply.text)
    return "\n".join(parts)


def assert_no_canary(text: str, canaries: list[str]) -> None:
    found = [value for value in canaries if value in text]
    assert found == [], f"leaked: {found}"


# ------------------------------------------------------------------------------- requirements


def test_the_red_team_line_is_refused_at_submit_without_a_value(canaries) -> None:
    alice = person("alice@example.org")
    for line in ("six===${RL_ARENA_SECRET_KEY}", "six==1.0; python_version > "
                 "'${RL_ARENA_OIDC_CLIENT_SECRET}'", "six===${RL_ARENA_DATABASE_URL}"):
        upload = zip_bytes({"agent.py": FIRST_LEGAL, "requirements.txt": f"{line}\n"})
        with pytest.raises(BadAgent) as caught:
            intake.submit_upload(alice.account, env_id="tictactoe", name="redteam",
                                 filename="agent.zip", data=upload, enqueue=False)
        assert "uses '$'" in str(caught.value) and "e.g. numpy>=1.26" in str(caught.value)
        assert_no_canary(str(caught.value), canaries)


@pytest.mark.parametrize("sandbox", ["docker", "process"])
def test_a_stored_red_team_requirement_fails_its_build_without_a_value(canaries, api_url,
                                                                       sandbox) -> None:
    """An artifact stored before the submit check (or by a bug) is checked again at build."""
    bundle = AgentBundle(ref="agent.zip", files={
        "agent.py": FIRST_LEGAL.encode(),
        "requirements.txt": b"six===${RL_ARENA_SECRET_KEY}\nsix===${RL_ARENA_DATABASE_URL}\n"})
    stored = intake._accept(bundle, "tictactoe", "redteam", "alice@example.org",
                            intake.NO_METADATA, enqueue=False)

    done = build(stored.id, sandbox)

    assert_no_canary(everything_shown(done, api_url), canaries)
    assert done.status == SubmissionStatus.FAILED
    assert "uses '$'" in done.reason


def test_requirements_pip_cannot_satisfy_fail_with_a_summary(canaries, api_url) -> None:
    alice = person("alice@example.org")
    upload = zip_bytes({"agent.py": FIRST_LEGAL, "requirements.txt": "six==99\n"})
    made = intake.submit_upload(alice.account, env_id="tictactoe", name="nosuch",
                                filename="agent.zip", data=upload, enqueue=False)

    done = build(made.id, "docker")

    assert_no_canary(everything_shown(done, api_url), canaries)
    assert done.status == SubmissionStatus.FAILED
    assert "'six==99': no release matching it has a binary wheel" in done.reason
    assert "ERROR" not in done.reason + done.log_tail  # pip's own words stay in the worker log


# ------------------------------------------------------------------------------------ agents


@pytest.mark.may_skip_in_ci(reason="the process sandbox hides the worker's environment only "
                             "as root (its own uid); Docker always runs")
@pytest.mark.parametrize("sandbox", ["docker", "process"])
@pytest.mark.parametrize("source", [AT_LOAD, IN_A_MOVE], ids=["at-load", "in-a-move"])
def test_an_agent_reading_its_environment_finds_no_secret(canaries, api_url, sandbox,
                                                          source) -> None:
    if sandbox == "process" and not AS_ROOT:
        pytest.skip("the process sandbox hides the worker's environment only as root")
    alice = person("alice@example.org")
    made = intake.submit_upload(alice.account, env_id="tictactoe", name="snoop",
                                filename="agent.py", data=source.encode(), enqueue=False)

    done = build(made.id, sandbox)

    assert done.status == SubmissionStatus.FAILED
    assert "ENVDUMP" in done.reason and "HOME=" in done.reason  # what the agent found is shown
    assert_no_canary(everything_shown(done, api_url), canaries)
    assert os.environ["RL_ARENA_SECRET_KEY"] == canaries[0]  # the worker does hold them
