"""Kaggle-format agents, the pure parts: which callable is the agent, its arity, the observation
and configuration built from the arena's, the cast of its answer, and main.py as an entry file."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from jobs.sandbox.harness.harness import kaggle, load_agent
from rl_arena_app.arena import env_docs, envs
from rl_arena_app.arena.bundle import AgentBundle, bundle_from_bytes
from rl_arena_app.errors import BadAgent
from tests.support.files import tgz_bytes, zip_bytes

KAGGLE = b"def agent(obs, conf):\n    return 0\n"
NATIVE = b"def act(observation, info):\n    return 0\n"
C4_RESET = {"env": "connect_four", "seed": 1, "player": 1, "action_space": {"n": 7},
            "move_timeout_s": 1.0, "time_bank_s": 10.0}


def connect_four_after(moves: list[int]) -> tuple[np.ndarray, dict]:
    """The arena's observation and info for the player to move after `moves`."""
    game = envs.make("connect_four")
    game.reset(0)
    for move in moves:
        game.observe()
        game.step(move)
    observation, extra = game.observe()
    return observation, {**extra, "player": game.to_move(), "step": len(moves)}


def test_the_last_callable_is_the_agent_imported_names_included() -> None:
    act, reset = load_agent("import random\n\ndef helper(b):\n    return 1\n\n"
                            "def my_agent(obs, conf):\n    return helper(obs)\n\nWIDTH = 7\n")
    assert isinstance(act, kaggle.KaggleAgent) and act.agent.__name__ == "my_agent"
    assert reset is None
    act, _ = load_agent("def my_agent(obs):\n    return 1\n\nfrom math import floor\n")
    assert act.agent.__name__ == "floor"


def test_native_agents_are_unchanged() -> None:
    act, _ = load_agent("def helper():\n    pass\n\ndef act(observation, info):\n    return 4\n"
                        "\ndef later():\n    pass\n")
    assert not isinstance(act, kaggle.KaggleAgent) and act(None, {}) == 4


def test_a_module_without_any_function_is_refused_with_the_three_forms() -> None:
    with pytest.raises(AttributeError, match=r"main.py defines neither act\(observation, info\) "
                       r"nor a class Agent with act\(\), nor a function to call as a Kaggle"):
        load_agent("MOVE = 4\n", "/agent/main.py")


def test_the_module_is_not_main() -> None:
    act, _ = load_agent("NAME = __name__\n\ndef agent(obs):\n    return NAME == '__main__'\n")
    assert act(np.zeros(4), {"env": "CartPole-v1"}) == 0


@pytest.mark.parametrize(("agent", "n"), [
    (lambda: 0, 0), (lambda obs: 0, 1), (lambda obs, conf: 0, 2), (lambda obs, conf, x=1: 0, 2),
    (lambda *args: 0, 2), (functools.partial(lambda a, obs, conf: 0, 1), 2), (max, 2),
])
def test_arity_cuts_the_arguments(agent, n: int) -> None:
    assert kaggle.arity(agent) == n


def test_connect_four_board_mark_step_and_overage() -> None:
    # Seat 0 plays 3, 3, 4; seat 1 plays 2, 0: seat 1 (mark 2) is to move.
    observation, info = connect_four_after([3, 2, 3, 0, 4])
    seen = kaggle.observation_of(observation, {**C4_RESET, **info, "time_left_s": 7.5})
    bottom = [2, 0, 2, 1, 1, 0, 0]  # row 5, the bottom one: index col + 5 * 7
    assert seen.board[35:] == bottom and seen["board"][28:35] == [0, 0, 0, 1, 0, 0, 0]
    assert seen.board[:28] == [0] * 28 and len(seen.board) == 42
    assert (seen.mark, seen.step, seen.remainingOverageTime) == (2, 5, 6.5)
    with pytest.raises(AttributeError):
        _ = seen.missing


def test_the_first_mover_is_mark_one() -> None:
    observation, info = connect_four_after([3])
    seen = kaggle.observation_of(observation, {**C4_RESET, **info, "time_left_s": 1.0})
    assert info["player"] == 1 and seen.mark == 2 and seen.board[38] == 1
    observation, info = connect_four_after([3, 4])
    seen = kaggle.observation_of(observation, {**C4_RESET, **info, "time_left_s": 1.0})
    assert seen.mark == 1 and seen.board[38:40] == [1, 2] and seen.remainingOverageTime == 0


def test_tictactoe_board_is_row_major_by_action() -> None:
    game = envs.make("tictactoe")
    game.reset(0)
    for cell in (0, 4, 5):  # seat 0 marks 0 and 5, seat 1 marks 4
        game.observe()
        game.step(cell)
    observation, _ = game.observe()
    seen = kaggle.observation_of(observation, {"env": "tictactoe", "player": 1, "step": 3})
    assert seen.board == [1, 0, 0, 0, 2, 1, 0, 0, 0] and seen.mark == 2


def test_configuration_maps_the_time_rules_to_kaggle_names() -> None:
    conf = kaggle.configuration_of(C4_RESET)
    assert conf == {"actTimeout": 1.0, "timeout": 1.0, "agentTimeout": 10.0, "rows": 6,
                    "columns": 7, "inarow": 4, "episodeSteps": 42, "runTimeout": 31.0}
    assert conf.columns == 7
    solo = kaggle.configuration_of({"env": "CartPole-v1", "action_space": {"n": 2},
                                    "move_timeout_s": 1.0, "time_bank_s": 10.0})
    assert solo == {"actTimeout": 1.0, "timeout": 1.0, "agentTimeout": 10.0, "actions": 2}


def test_a_solo_observation_is_a_plain_list() -> None:
    assert kaggle.observation_of(np.array([0.5, -1.0], np.float32), {"env": "x"}) == [0.5, -1.0]


@pytest.mark.parametrize(("answer", "action"), [(3, 3), (np.int64(2), 2), ("4", 4), (5.0, 5)])
def test_the_answer_is_cast_to_int(answer, action: int) -> None:
    assert kaggle.as_action(answer) == action and type(kaggle.as_action(answer)) is int


@pytest.mark.parametrize(("answer", "shown"), [
    ("left", "'left'"), (None, "None"), (float("nan"), "nan"), ([1], "a value of type list"),
    ({}, "a value of type dict"),
])
def test_an_answer_that_is_no_int_is_refused(answer, shown: str) -> None:
    with pytest.raises(kaggle.NotAnAction, match=f"returned {shown}, which is not an action"):
        kaggle.as_action(answer)


@pytest.mark.parametrize("pack", [zip_bytes, tgz_bytes])
def test_main_py_is_the_entry_of_an_archive_without_agent_py(pack) -> None:
    bundle = bundle_from_bytes(pack({"main.py": KAGGLE, "helpers.py": b"X = 1\n"}),
                               ref="s.zip" if pack is zip_bytes else "s.tar.gz")
    assert bundle.entry == "main.py" and set(bundle.files) == {"main.py", "helpers.py"}
    wrapped = bundle_from_bytes(zip_bytes({"sub/main.py": KAGGLE}), ref="w.zip")
    assert wrapped.entry == "main.py" and set(wrapped.files) == {"main.py"}


def test_agent_py_wins_over_main_py() -> None:
    bundle = bundle_from_bytes(zip_bytes({"main.py": KAGGLE, "agent.py": NATIVE}), ref="b.zip")
    assert bundle.entry == "agent.py"
    assert bundle_from_bytes(KAGGLE, ref="submission.py").entry == "agent.py"


def test_an_archive_without_an_entry_names_every_entry() -> None:
    with pytest.raises(BadAgent, match=r"has no agent.py at its root \(found 'a/b/main.py'\): "
                       r"put agent.py \(or a Kaggle agent's main.py, or an ONNX policy's "
                       r"policy.onnx\)"):
        bundle_from_bytes(zip_bytes({"a/b/main.py": KAGGLE}), ref="n.zip")
    with pytest.raises(BadAgent, match=r"has no agent\.py: every agent needs one"):
        AgentBundle(ref="x", files={"helpers.py": KAGGLE})
    with pytest.raises(BadAgent, match=r"main\.py in 'u\.zip' is not valid UTF-8"):
        bundle_from_bytes(zip_bytes({"main.py": b"\xff\xfe"}), ref="u.zip")


@pytest.mark.parametrize("env_id", ["connect_four", "tictactoe"])
def test_the_documented_kaggle_example_plays_legal_moves(env_id: str) -> None:
    spec = envs.spec(env_id)
    section = env_docs.kaggle_section(spec)
    assert section is not None and "observation.mark" in section
    act, _ = load_agent(section.split("```python\n")[1].split("```")[0])
    game = spec.factory()
    game.reset(0)
    reset = {"env": env_id, "move_timeout_s": 1.0, "time_bank_s": 10.0}
    while (seat := game.to_move()) is not None:
        observation, extra = game.observe()
        action = act(observation, {**reset, **extra, "player": seat, "step": 0})
        game.step(game.parse_action(action))
    assert env_docs.kaggle_section(envs.spec("CartPole-v1")) is None
