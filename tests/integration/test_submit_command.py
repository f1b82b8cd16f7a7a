"""`rl-arena submit`, `token create` and `user admin` as people run them: real processes.

The arena: the API served by uvicorn, a real worker and scheduler (`rl-arena worker`,
`rl-arena scheduler`) on the process sandbox, a house agent to play against; the CLI runs as
its own process, with the token `rl-arena token create` printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select
from starlette.responses import PlainTextResponse

from rl_arena_app.api.app import create_api
from rl_arena_app.db.models import Submission
from rl_arena_app.db.session import session_scope
from rl_arena_app.services.accounts import logins, users
from rl_arena_app.services.admin import audit
from rl_arena_app.services.submissions import intake
from rl_arena_app.settings import get_settings
from tests.support.agents import AGENT
from tests.support.api import serving
from tests.support.processes import rl_arena, spawn, stop

SYNTAX_ERROR = b"def act(observation, info:\n    return 0\n"


@pytest.fixture(name="arena")
def arena_fixture(platform, monkeypatch, tmp_path) -> Iterator[str]:
    """A running arena (API, worker, scheduler) with a house agent in tictactoe; its URL."""
    monkeypatch.setenv("RL_ARENA_SANDBOX", "process")
    monkeypatch.setenv("RL_ARENA_MATCHMAKING_INTERVAL_S", "1")
    get_settings.cache_clear()
    intake.submit("builtin:random", env_id="tictactoe", name="random", house=True)
    worker = spawn("worker", "--name", "submit-test", log=tmp_path / "worker.log")
    scheduler = spawn("scheduler", log=tmp_path / "scheduler.log")
    try:
        with serving(create_api()) as url:
            yield url
    finally:
        stop(scheduler)
        stop(worker)


@pytest.fixture(name="token")
def token_fixture(platform) -> str:
    """Alice's token, as `rl-arena token create` prints it."""
    logins.login("oidc", "sub-alice", "alice@example.org", True, "Alice")
    made = rl_arena("token", "create", "alice@example.org", "--name", "laptop")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def agent_dir(tmp_path: Path, source: bytes) -> Path:
    folder = tmp_path / "my-agent"
    folder.mkdir()
    (folder / "agent.py").write_bytes(source)
    (folder / "__pycache__").mkdir()  # left out of the upload, as the server would
    (folder / "__pycache__" / "agent.cpython-311.pyc").write_bytes(b"\x00junk")
    return folder


@pytest.mark.slow
def test_submit_wait_follows_a_good_agent_to_its_first_rated_game(arena, token, tmp_path):
    done = rl_arena("submit", "tictactoe", str(agent_dir(tmp_path, AGENT)), "--name", "mine",
                    "--url", arena, "--token", token, "--wait", "--timeout", "180", timeout=240)

    assert done.returncode == 0, (done.stdout, done.stderr, (tmp_path / "worker.log").read_text())
    first, link, result = done.stdout.strip().splitlines()
    assert first.startswith("submission ") and "mine v1 in tictactoe" in first
    assert link.startswith(f"{arena}/agents/")
    assert result.startswith("ready: Elo ") and "rated game" in result
    assert "submission" in done.stderr and "ready" in done.stderr


@pytest.mark.slow
def test_submit_wait_exits_1_with_the_reason_when_the_agent_fails(arena, token, tmp_path):
    path = tmp_path / "agent.py"
    path.write_bytes(SYNTAX_ERROR)
    env = {**os.environ, "RL_ARENA_TOKEN": token}

    done = subprocess.run([sys.executable, "-m", "rl_arena_app.cli", "submit", "tictactoe",
                           str(path), "--name", "broken", "--url", arena, "--wait",
                           "--timeout", "180"], env=env, text=True, capture_output=True,
                          timeout=240, check=False)

    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "failed: validation game 1: crash" in done.stderr
    assert "SyntaxError" in done.stderr  # the log's tail comes along


@pytest.mark.slow
def test_submit_wait_json_prints_the_failed_submission_alone_and_exits_1(arena, token,
                                                                        tmp_path):
    path = tmp_path / "agent.py"
    path.write_bytes(SYNTAX_ERROR)

    done = rl_arena("submit", "tictactoe", str(path), "--name", "broken", "--url", arena,
                    "--token", token, "--wait", "--timeout", "180", "--json", timeout=240)

    assert done.returncode == 1, (done.stdout, done.stderr)
    view = json.loads(done.stdout)  # one JSON object, nothing else
    assert view["version"]["status"] == "failed" and view["agent"]["name"] == "broken"
    assert view["version"]["reason"].startswith("validation game 1: crash")
    assert "failed: validation game 1: crash" in done.stderr and "SyntaxError" in done.stderr


def test_submit_json_prints_the_submission_as_the_api_returns_it(api_url, token, tmp_path):
    path = tmp_path / "agent.py"
    path.write_bytes(AGENT)

    done = rl_arena("submit", "tictactoe", str(path), "--name", "mine", "--url", api_url,
                    "--token", token, "--json")

    assert done.returncode == 0, done.stderr
    view = json.loads(done.stdout)
    submission_id = view["version"]["submission_id"]
    served = httpx.get(f"{api_url}/api/v1/submissions/{submission_id}",
                       headers={"Authorization": f"Bearer {token}"}).json()
    assert view == served and view["agent"]["name"] == "mine" and view["env_id"] == "tictactoe"
    assert done.stdout.count("\n") == 1  # one line: the object
    assert f"submission {submission_id}: mine v1 in tictactoe, queued" in done.stderr
    refused = rl_arena("submit", "tictactoe", str(path), "--name", "has space", "--url",
                       api_url, "--token", token, "--json")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith("error: agent name 'has space' is not allowed")


def test_the_servers_refusal_is_one_line_and_exit_2(api_url, token, tmp_path):
    path = tmp_path / "agent.py"
    path.write_bytes(AGENT)

    done = rl_arena("submit", "tictactoe", str(path), "--name", "has space", "--url", api_url,
                    "--token", token)

    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: agent name 'has space' is not allowed")
    assert len(done.stderr.strip().splitlines()) == 1


def test_what_the_server_would_refuse_is_refused_before_sending(tmp_path, platform):
    folder = tmp_path / "agent"
    folder.mkdir()
    (folder / "agent.py").write_bytes(AGENT)
    (folder / "link.py").symlink_to("/etc/passwd")

    done = rl_arena("submit", "tictactoe", str(folder), "--name", "x", "--url",
                    "http://127.0.0.1:9", "--token", "rla_unused")

    assert done.returncode == 2 and "symlink 'link.py'" in done.stderr


def test_a_wrong_token_and_no_token_say_what_to_do(api_url, tmp_path, platform, monkeypatch):
    monkeypatch.delenv("RL_ARENA_TOKEN", raising=False)
    path = tmp_path / "agent.py"
    path.write_bytes(AGENT)

    wrong = rl_arena("submit", "tictactoe", str(path), "--name", "x", "--url", api_url,
                     "--token", "rla_wrong")
    missing = rl_arena("submit", "tictactoe", str(path), "--name", "x", "--url", api_url)

    assert wrong.returncode == 2 and "error: the API token is not valid" in wrong.stderr
    assert missing.returncode == 2 and "give --token or set RL_ARENA_TOKEN" in missing.stderr


def test_an_arena_that_is_not_there_is_named(tmp_path, platform):
    path = tmp_path / "agent.py"
    path.write_bytes(AGENT)

    done = rl_arena("submit", "tictactoe", str(path), "--name", "x", "--url",
                    "http://127.0.0.1:9", "--token", "rla_x")

    assert done.returncode == 3
    assert "is the arena running at http://127.0.0.1:9?" in done.stderr


@pytest.mark.parametrize("server_mb,local_mb,accepted", [(1, 100, False), (3, 1, True)])
def test_the_size_limit_is_the_arenas_not_the_local_settings(platform, token, tmp_path,
                                                             monkeypatch, server_mb, local_mb,
                                                             accepted):
    monkeypatch.setenv("RL_ARENA_MAX_UPLOAD_MB", str(server_mb))
    get_settings.cache_clear()
    path = tmp_path / "agent.py"
    path.write_bytes(AGENT + b"#" * (2 * 2**20) + b"\n")  # 2 MiB
    local = {**os.environ, "RL_ARENA_MAX_UPLOAD_MB": str(local_mb)}

    with serving(create_api()) as url:
        done = subprocess.run([sys.executable, "-m", "rl_arena_app.cli", "submit", "tictactoe",
                               str(path), "--name", "big", "--url", url, "--token", token],
                              env=local, text=True, capture_output=True, timeout=120, check=False)

    if accepted:
        assert done.returncode == 0, done.stderr
    else:
        assert done.returncode == 2 and "more than the 1 MiB this arena takes" in done.stderr
        with session_scope() as session:
            assert session.exec(select(Submission)).all() == [], "refused before sending"


def test_a_url_that_is_not_an_arena_is_named(platform, token, tmp_path):
    path = tmp_path / "agent.py"
    path.write_bytes(AGENT)

    with serving(PlainTextResponse("a web page, not the API")) as url:
        done = rl_arena("submit", "tictactoe", str(path), "--name", "x", "--url", url,
                        "--token", token)

    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert "did not answer with the API's JSON: is --url the arena's address?" in done.stderr


# ----------------------------------------------------------------- tokens and admins


def test_token_create_prints_the_token_alone(token):
    assert token.startswith("rla_") and len(token.split()) == 1
    assert token.replace("_", "").replace("-", "").isalnum()  # URL-safe characters only


def test_token_create_makes_the_account_of_someone_who_never_logged_in(platform):
    """A fresh deployment's operator makes a token for a bot, or for a person before they
    log in: the account is made with it, and says so apart from the token."""
    made = rl_arena("token", "create", "Bot@Example.org", "--name", "ci")
    again = rl_arena("token", "create", "bot@example.org")

    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().startswith("rla_") and len(made.stdout.split()) == 1
    assert "made an account for bot@example.org" in made.stderr
    assert again.returncode == 0 and "made an account" not in again.stderr
    assert users.account_by_email("bot@example.org").email == "bot@example.org"
    refused = rl_arena("token", "create", "not an email")
    assert refused.returncode == 2 and refused.stdout == ""


def test_an_admin_token_is_refused_to_a_non_admin_until_granted(platform):
    logins.login("oidc", "sub-bob", "bob@example.org", True, "Bob")

    refused = rl_arena("token", "create", "bob@example.org", "--admin")
    granted = rl_arena("user", "admin", "grant", "bob@example.org")
    made = rl_arena("token", "create", "bob@example.org", "--admin")

    assert refused.returncode == 2 and refused.stdout == ""
    assert "bob@example.org is not an admin" in refused.stderr
    assert granted.returncode == 0 and granted.stdout.strip() == "bob@example.org is now an admin"
    assert made.returncode == 0 and made.stdout.strip().startswith("rla_")
    entry = audit.recent(1)[0]
    assert (entry.actor, entry.action, entry.target, entry.outcome) == \
        ("cli", "grant-admin", "bob@example.org", "ok")


def test_user_admin_refuses_an_unknown_account(platform):
    done = rl_arena("user", "admin", "revoke", "nobody@example.org")

    assert done.returncode == 2 and "no account with the email" in done.stderr
    assert audit.recent(1)[0].outcome == "refused"
