"""Kaggle-format agents, unchanged, in the real sandboxes: the last callable of agent.py (or of a
main.py archive) is called as agent(observation, configuration) or agent(observation).

The agents are tests/agents/kaggle/*, written here in the shapes public Kaggle notebooks use.
Every Docker test runs in a warm sandbox (forked by the fork server) and a cold one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rl_arena_app.arena import envs
from rl_arena_app.arena.bundle import AgentBundle, bundle_from_bytes
from rl_arena_app.arena.referee import Limits
from rl_arena_app.arena.run import play
from tests.support.agents import builtin, bundle_from_source
from tests.support.files import tgz_bytes, zip_bytes
from tests.support.sandboxes import KeptSandboxes

pytestmark = pytest.mark.docker

KAGGLE_DIR = Path(__file__).parents[1] / "agents" / "kaggle"
C4 = "connect_four"
RELAXED = Limits(move_timeout_s=5, time_bank_s=10, startup_timeout_s=30)
# Less than the import below sleeps: loading the module must count against start-up, not move 1.
TIGHT = Limits(move_timeout_s=0.5, time_bank_s=0.5, startup_timeout_s=20)


@pytest.fixture(params=["warm", "cold"])
def docker_mode(request) -> str:
    """Every Kaggle agent in a warm sandbox (the fork server's child) and a cold one."""
    return request.param


def kaggle_agent(name: str) -> AgentBundle:
    """tests/agents/kaggle/NAME.py uploaded as a single .py file."""
    path = KAGGLE_DIR / f"{name}.py"
    return bundle_from_bytes(path.read_bytes(), ref=f"{name}.py")


def archive(kind: str, files: dict[str, bytes] | None = None) -> AgentBundle:
    """tests/agents/kaggle/archive/ (main.py and its helper module) as a .zip or .tar.gz."""
    files = files or {p.name: p.read_bytes() for p in (KAGGLE_DIR / "archive").glob("*.py")}
    data = zip_bytes(files) if kind == "zip" else tgz_bytes(files)
    return bundle_from_bytes(data, ref=f"submission.{kind}")


def games_of(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The games of a duel, every one played to its end without a forfeit."""
    forfeits = [g["forfeit"] for g in summary["games"] if g["forfeit"]]
    assert forfeits == [], forfeits
    return summary["games"]


def test_negamax_beats_the_house_random_agent(docker_play):
    summary = docker_play(C4, [kaggle_agent("negamax"), builtin("random", C4)], seed=3,
                          limits=RELAXED, games=4)
    games = games_of(summary.summary())
    assert [g["first"] for g in games] == [0, 1, 0, 1]
    assert [g["winner"] for g in games] == [0, 0, 0, 0], games


@pytest.mark.parametrize("env_id", [C4, "tictactoe"])
def test_observation_and_configuration_agree_with_the_game(docker_play, env_id):
    """The checker (dict access, arity 2) raises when board, mark, step or configuration are
    wrong, from either seat; the one-line random agent (attribute access) plays legal moves."""
    opponent = kaggle_agent("one_line_random") if env_id == C4 else builtin("random", env_id)
    summary = docker_play(env_id, [kaggle_agent("checker"), opponent], seed=5, limits=RELAXED,
                          games=2).summary()
    assert all(g["steps"] >= 5 for g in games_of(summary))


def test_an_agent_of_arity_one_gets_the_observation_only(docker_play):
    summary = docker_play(C4, [kaggle_agent("arity_one"), kaggle_agent("checker")], seed=1,
                          limits=RELAXED, games=2).summary()
    games_of(summary)


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_a_main_py_archive_imports_its_own_modules(docker_play, kind):
    bundle = archive(kind)
    assert bundle.entry == "main.py"
    summary = docker_play(C4, [bundle, kaggle_agent("checker")], seed=2, limits=RELAXED,
                          games=2).summary()
    # main.py plays the free column nearest the centre: its first piece goes in column 3.
    assert all(g["steps"] >= 7 for g in games_of(summary))


def test_the_module_is_executed_at_start_up_not_on_move_one(docker_play):
    slow = bundle_from_source("import time\n\ntime.sleep(2)\n\n\n"
                              "def agent(obs, conf):\n    return obs.board.index(0)\n",
                              ref="slow_import")
    summary = docker_play("tictactoe", [slow, builtin("random", "tictactoe")], seed=4,
                          limits=TIGHT, games=2).summary()
    games_of(summary)


@pytest.mark.parametrize(("answer", "phrase"), [
    ("'left'", "returned 'left', which is not an action"),
    ("None", "returned None, which is not an action"),
    ("[3, 4]", "returned a value of type list, which is not an action"),
    ("99", "action 99 is outside [0, 7)"),
])
def test_a_kaggle_agent_returning_garbage_forfeits_with_an_illegal_action(
        docker_play, answer, phrase):
    garbage = bundle_from_source(f"def agent(obs, conf):\n    return {answer}\n", ref="garbage")
    summary = docker_play(C4, [garbage, builtin("random", C4)], seed=6, limits=RELAXED,
                          games=2).summary()
    for game in summary["games"]:
        forfeit = game["forfeit"]
        assert forfeit is not None and (forfeit["agent"], forfeit["reason"]) == (
            0, "illegal_action"), game
        assert phrase in forfeit["detail"], forfeit["detail"]
        assert "Traceback" not in forfeit["detail"]
        assert game["winner"] == 1


def test_a_kaggle_archive_raising_at_import_fails_to_start(docker_play):
    files = {"main.py": b"import random\n\nraise ValueError('boom at import')\n\n\n"
                        b"def agent(obs, conf):\n    return 0\n"}
    summary = docker_play(C4, [archive("zip", files), builtin("random", C4)], seed=6,
                          limits=RELAXED, games=2).summary()
    for game in summary["games"]:
        forfeit = game["forfeit"]
        assert forfeit is not None and (forfeit["agent"], forfeit["reason"]) == (0, "crash")
        for phrase in ('File "main.py", line 3', "ValueError: boom at import"):
            assert phrase in forfeit["detail"], forfeit["detail"]
        assert game["steps"] == 0


def test_a_kaggle_agent_plays_a_solo_task_on_a_plain_list(docker_play):
    summary = docker_play("CartPole-v1", [kaggle_agent("cartpole")], seed=0, limits=RELAXED,
                          episodes=2).summary()
    assert [e["forfeit"] for e in summary["episodes"]] == [None, None]
    assert summary["mean_return"] > 100, summary["episodes"]


def test_kaggle_agents_in_the_process_sandbox():
    kept = KeptSandboxes()
    bundles = [kaggle_agent("checker"), archive("tar.gz")]
    result = play(envs.spec(C4), [kept._factory(b) for b in bundles], [b.ref for b in bundles],
                  sandbox="process", seed=0, limits=RELAXED, games=2)
    games_of(result.summary())
    kept.assert_cleaned_up()
