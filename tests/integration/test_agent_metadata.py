"""Agent metadata (algorithm, description, source_url) given through the API and the CLI:
stored per version, shown by the read models, on the leaderboard and in its search; refused
with the field's name and nothing stored."""

from __future__ import annotations

import json

from sqlmodel import func, select

from rl_arena_app.db.models import Submission
from rl_arena_app.db.session import session_scope
from rl_arena_app.services.ratings.json_rows import json_rows
from rl_arena_app.services.ratings.leaderboard import leaderboard_page
from tests.support.agents import AGENT
from tests.support.factory import make_ready
from tests.support.processes import rl_arena

HOSTILE = "<script>alert(1)</script>\nline two & **bold**"
META = {"algorithm": "PPO", "description": HOSTILE,
        "source_url": "https://github.com/alice/tictactoe-ppo"}


def submissions() -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(Submission)).one()


def test_the_api_stores_shows_and_searches_the_metadata(client, alice):
    made = client.post("/api/v1/submissions", headers=alice.auth,
                       data={"env": "tictactoe", "name": "ppo-bot", **META},
                       files={"file": ("agent.py", AGENT)})
    plain = client.post("/api/v1/submissions", headers=alice.auth,
                        data={"env": "tictactoe", "name": "plain-bot"},
                        files={"file": ("agent.py", AGENT)})

    assert made.status_code == 201, made.text
    version = made.json()["version"]
    assert {k: version[k] for k in META} == META  # kept as text, line break and all
    assert plain.status_code == 201 and plain.json()["version"]["algorithm"] is None
    make_ready(made.json()["agent"]["agent_id"], plain.json()["agent"]["agent_id"])
    page = client.get("/api/v1/envs/tictactoe/leaderboard", params={"search": "ppo"}).json()
    assert [(r["name"], r["algorithm"]) for r in page["rows"]] == [("ppo-bot", "PPO")]
    assert [r.name for r in leaderboard_page("tictactoe", search="pPo").rows] == ["ppo-bot"]
    board = {row["name"]: row["algorithm"] for row in json_rows("tictactoe")}
    assert board == {"ppo-bot": "PPO", "plain-bot": None}  # `rl-arena leaderboard --json`
    agent = client.get(f"/api/v1/agents/{made.json()['agent']['agent_id']}").json()
    assert agent["versions"][0]["source_url"] == META["source_url"]


def test_the_api_refuses_bad_metadata_naming_the_field_and_stores_nothing(client, alice):
    for field, value, says in [
            ("source_url", "javascript:alert(1)", "source_url 'javascript:alert(1)' is not "
                                                  "allowed: give an http:// or https://"),
            ("source_url", "https://me:hunter2@github.com/x", "must not carry a user name"),
            ("algorithm", "PPO\nDQN", "algorithm 'PPO\\nDQN' is not allowed"),
            ("description", "x" * 501, "description is 501 characters long"),
            ("description", "bidi \u202e", "description contains the control character "
                                           "U+202E")]:
        refused = client.post("/api/v1/submissions", headers=alice.auth,
                              data={"env": "tictactoe", "name": "bot", field: value},
                              files={"file": ("agent.py", AGENT)})
        assert refused.status_code == 400, refused.text
        assert says in refused.json()["detail"] and "hunter2" not in refused.text
    assert submissions() == 0


def test_rl_arena_submit_sends_the_metadata(api_url, alice, tmp_path):
    path = tmp_path / "agent.py"
    path.write_bytes(AGENT)

    done = rl_arena("submit", "tictactoe", str(path), "--name", "dqn-bot", "--url", api_url,
                    "--token", alice.token, "--json", "--algorithm", "DQN",
                    "--description", "double DQN", "--source-url", "http://example.org/dqn")
    refused = rl_arena("submit", "tictactoe", str(path), "--name", "x", "--url",
                       "http://127.0.0.1:9", "--token", "rla_unused",
                       "--source-url", "ftp://example.org/x")

    assert done.returncode == 0, done.stderr
    version = json.loads(done.stdout)["version"]
    assert (version["algorithm"], version["description"], version["source_url"]) == (
        "DQN", "double DQN", "http://example.org/dqn")
    assert refused.returncode == 2  # refused here: nothing listens on port 9
    assert refused.stderr.startswith("error: source_url 'ftp://example.org/x' is not allowed")


def test_rl_arena_agent_add_and_show_carry_the_metadata(platform):
    added = rl_arena("agent", "add", "tictactoe", "builtin:random", "--name", "rnd",
                     "--owner", "alice@example.org", "--json", "--algorithm", "uniform random",
                     "--description", "picks any legal move\nno learning")
    refused = rl_arena("agent", "add", "tictactoe", "builtin:random", "--name", "rnd",
                       "--owner", "alice@example.org", "--algorithm", "x" * 41)

    assert added.returncode == 0, added.stderr
    row = json.loads(added.stdout)
    assert (row["algorithm"], row["description"], row["source_url"]) == (
        "uniform random", "picks any legal move\nno learning", None)
    shown = rl_arena("agent", "show", str(row["submission"]))
    assert "uniform random" in shown.stdout and "picks any legal move" in shown.stdout
    assert refused.returncode == 2 and "algorithm 'xxxx" in refused.stderr
    assert "--algorithm PPO" in refused.stderr
    assert submissions() == 1
