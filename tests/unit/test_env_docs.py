"""Environment documentation: every documented fact holds on the real env; the doc file is fresh."""

from __future__ import annotations

import json
import math
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from click.testing import CliRunner

from rl_arena_app.arena import envs
from rl_arena_app.arena.env_docs import (
    DOCS_PATH,
    as_json,
    doc_of,
    play_command,
    render_document,
    render_env,
    starter_source,
)
from rl_arena_app.arena.starters import starter_path
from rl_arena_app.commands.envs import envs_group

ROOT = Path(__file__).resolve().parents[2]
ALL_ENVS = [s.id for s in envs.list_envs()]
DUELS = [s.id for s in envs.list_envs() if s.kind == "duel"]
SOLOS = [s.id for s in envs.list_envs() if s.kind == "solo"]
REGENERATE = "python -m rl_arena_app.commands.envs docs -o docs/ENVIRONMENTS.md"


def first_view(env_id: str):
    """A fresh game of the env after reset(0): the game, its observation and its extra info."""
    game = envs.make(env_id)
    game.reset(0)
    observation, extra = game.observe()
    return game, observation, extra


def view_after(env_id: str, actions: list[int]):
    """(seat to move, observation, mask) after playing `actions` from reset(0)."""
    game = envs.make(env_id)
    game.reset(0)
    for action in actions:
        game.observe()
        game.step(game.parse_action(action))
    observation, extra = game.observe()
    return game.to_move(), np.asarray(observation), extra.get("action_mask")


# ----------------------------------------------------------------- the facts, on the real envs


@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_documented_shape_dtype_and_actions_are_the_real_ones(env_id):
    doc = doc_of(envs.spec(env_id))
    game, observation, extra = first_view(env_id)
    assert isinstance(observation, np.ndarray)
    assert observation.shape == doc.observation_shape
    assert observation.dtype == np.dtype(doc.observation_dtype)
    assert [e.key for e in doc.actions] == [str(a) for a in range(game.n_actions)]
    documented_info = {e.key for e in doc.info}
    assert ("action_mask" in documented_info) == ("action_mask" in extra)
    if "action_mask" in extra:
        assert extra["action_mask"].dtype == np.int8 and extra["action_mask"].shape == (
            game.n_actions,)


@pytest.mark.parametrize("env_id", SOLOS)
def test_solo_components_bounds_limit_and_threshold_are_gymnasium_s(env_id):
    doc = doc_of(envs.spec(env_id))
    real = gymnasium.make(env_id)
    space = real.observation_space
    assert [e.key for e in doc.components] == [f"observation[{i}]" for i in range(space.shape[0])]
    for entry, low, high in zip(doc.components, space.low, space.high, strict=True):
        expected = "unbounded" if math.isinf(high) else f"{low:.4g} to {high:.4g}"
        assert entry.values.startswith(expected), (entry.key, entry.values, expected)
    assert doc.max_steps == real.spec.max_episode_steps
    assert str(doc.max_steps) in doc.episode_end
    assert doc.solved_return == real.spec.reward_threshold


@pytest.mark.parametrize("env_id", DUELS)
def test_board_layout_matches_the_observation_shape(env_id):
    doc = doc_of(envs.spec(env_id))
    assert doc.board is not None
    assert doc.observation_shape == (doc.board.rows, doc.board.cols, 2)
    assert doc.max_steps == doc.board.rows * doc.board.cols
    own = [e for e in doc.components if e.name.startswith("your ")]
    assert [e.key for e in own] == [f"observation[:, :, {doc.board.own_plane}]"]


def test_connect_four_mine_plane_and_bottom_row_are_as_documented():
    """After columns 3, 3, 2 the player to move sees its piece on the documented plane and rows."""
    board = doc_of(envs.spec("connect_four")).board
    mine, theirs = board.own_plane, 1 - board.own_plane
    bottom, above = board.bottom_row, board.bottom_row - 1 if board.bottom_row else 1
    seat, observation, _ = view_after("connect_four", [3])
    assert seat == 1
    assert observation[:, :, mine].sum() == 0
    assert np.argwhere(observation[:, :, theirs]).tolist() == [[bottom, 3]]
    seat, observation, _ = view_after("connect_four", [3, 3])
    assert seat == 0  # seat 0's first piece is now on "its" plane, the reply stacked above it
    assert np.argwhere(observation[:, :, mine]).tolist() == [[bottom, 3]]
    assert np.argwhere(observation[:, :, theirs]).tolist() == [[above, 3]]
    seat, observation, _ = view_after("connect_four", [3, 3, 2])
    assert seat == 1
    assert np.argwhere(observation[:, :, mine]).tolist() == [[above, 3]]
    assert sorted(np.argwhere(observation[:, :, theirs]).tolist()) == [[bottom, 2], [bottom, 3]]


def test_connect_four_a_full_column_is_masked_as_documented():
    """Six pieces fill a column; its action is then 0 in the mask."""
    _, _, mask = view_after("connect_four", [0, 0, 0, 0, 0, 0])
    assert mask.tolist() == [0, 1, 1, 1, 1, 1, 1]


def test_tictactoe_action_is_row_times_three_plus_column_on_the_mover_s_plane():
    """Each cell played shows at (a // 3, a % 3) on the right plane for the player to move."""
    board = doc_of(envs.spec("tictactoe")).board
    mine, theirs = board.own_plane, 1 - board.own_plane
    for action in range(9):
        seat, observation, mask = view_after("tictactoe", [action])
        assert seat == 1 and observation[:, :, mine].sum() == 0
        assert np.argwhere(observation[:, :, theirs]).tolist() == [[action // 3, action % 3]]
        assert mask[action] == 0 and mask.sum() == 8
    seat, observation, _ = view_after("tictactoe", [0, 4, 1])
    assert seat == 1
    assert np.argwhere(observation[:, :, mine]).tolist() == [[1, 1]]
    assert np.argwhere(observation[:, :, theirs]).tolist() == [[0, 0], [0, 1]]


@pytest.mark.parametrize(("env_id", "action_name", "component_name", "sign"), [
    ("CartPole-v1", "push the cart right", "cart velocity", +1),  # "> 0 moving right"
    ("CartPole-v1", "push the cart left", "cart velocity", -1),
    ("CartPole-v1", "push the cart right", "pole angle", -1),  # the pole tips back to the left
    ("MountainCar-v0", "accelerate right", "velocity", +1),  # "> 0 moving right"
    ("MountainCar-v0", "accelerate left", "velocity", -1),
    ("Acrobot-v1", "torque +1", "theta2 angular velocity", +1),
    ("Acrobot-v1", "torque -1", "theta2 angular velocity", -1),
])
def test_solo_actions_move_the_documented_components_the_documented_way(
        env_id, action_name, component_name, sign):
    doc = doc_of(envs.spec(env_id))
    [action] = [int(e.key) for e in doc.actions if e.name == action_name]
    [index] = [i for i, e in enumerate(doc.components) if e.name == component_name]
    real = gymnasium.make(env_id)
    before, _ = real.reset(seed=0)
    after = before
    for _ in range(3):
        after, *_ = real.step(action)
    assert sign * (after[index] - before[index]) > 0


# ------------------------------------------------------------------ starters and rendering


@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_every_env_has_a_starter_that_loads_and_says_how_to_play_it(env_id):
    spec = envs.spec(env_id)
    source = starter_source(spec)
    assert starter_path(doc_of(spec).starter).parent.name == "starters"
    namespace: dict = {}
    exec(compile(source, doc_of(spec).starter, "exec"), namespace)
    assert callable(namespace.get("act")) or isinstance(namespace.get("Agent"), type)
    assert play_command(spec) in source
    imported = {line.split()[1] for line in source.splitlines()
                if line.startswith(("import ", "from "))}
    assert imported <= {"numpy", "random", "math"}, imported


def starter_agent(env_id: str):
    """A fresh instance of the env's starter Agent, reset for a game."""
    namespace: dict = {}
    exec(compile(starter_source(envs.spec(env_id)), "agent.py", "exec"), namespace)
    agent = namespace["Agent"]()
    agent.reset({"seed": 0})
    return agent


# Each expected move is one the starter's fallback (centre, corners, central columns) would not
# choose, so only its win-and-block rules find it.
@pytest.mark.parametrize(("env_id", "moves", "expected"), [
    ("tictactoe", [0, 4, 6], 3),  # block: the opponent has 0 and 6 of the first column
    ("tictactoe", [1, 0, 4, 8], 7),  # win down the middle column
    ("tictactoe", [1, 0, 4, 3], 7),  # win on 7 rather than block on 6
    ("connect_four", [6, 0, 6, 0, 6], 6),  # block the column of three
    ("connect_four", [6, 0, 6, 0, 6, 1], 6),  # win in column 6
    ("connect_four", [6, 0, 6, 0, 6, 0], 6),  # win in column 6 rather than block column 0
])
def test_board_starters_take_a_win_and_block_a_loss(env_id, moves, expected):
    """The documented tactics, on positions reached in the real game."""
    _, observation, mask = view_after(env_id, moves)
    assert starter_agent(env_id).act(observation, {"action_mask": mask}) == expected


@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_rendering_shows_every_documented_row(env_id):
    spec = envs.spec(env_id)
    doc = doc_of(spec)
    text = render_env(spec)
    for entry in (*doc.components, *doc.actions, *doc.info):
        assert f"`{entry.key}`" in text
    assert f"`{doc.observation_shape}`" in text and f"`{doc.observation_dtype}`" in text
    assert play_command(spec) in text
    json.dumps(as_json(spec))  # the web's shape is plain JSON


def test_environments_md_is_fresh():
    committed = (ROOT / DOCS_PATH).read_text(encoding="utf-8")
    assert committed == render_document(envs.list_envs()), (
        f"{DOCS_PATH} differs from the EnvSpecs: regenerate it with `{REGENERATE}` "
        f"(or `rl-arena env docs -o {DOCS_PATH}`)")


# ------------------------------------------------------------------------------ the CLI


def invoke(*args: str):
    return CliRunner().invoke(envs_group, list(args), env={"COLUMNS": "200"})


def test_envs_json_keeps_the_old_keys_and_adds_the_starter():
    done = invoke("--json")
    assert done.exit_code == 0, done.output
    rows = json.loads(done.output)
    assert [r["id"] for r in rows] == ALL_ENVS
    for row in rows:
        assert {"id", "kind", "version", "description", "builtins", "starter"} <= set(row)
        assert "builtin:random" in row["builtins"]


def test_envs_show_prints_the_documentation():
    done = invoke("show", "connect_four")
    assert done.exit_code == 0, done.output
    text = " ".join(done.output.split())  # the terminal layout wraps lines
    assert "observation[:, :, 0]" in text and "your pieces" in text
    assert "Row 5 is the bottom row" in text
    data = json.loads(invoke("show", "connect_four", "--json").output)
    assert data["doc"]["board"]["bottom_row"] == 5 and data["example"]["player"] == 1


@pytest.mark.parametrize("args", [("show", "chess"), ("starter", "chess")])
def test_unknown_env_is_one_line_and_exit_2(args):
    done = invoke(*args)
    assert done.exit_code == 2
    assert done.output.strip().splitlines() == [
        "error: unknown environment 'chess': use one of " + ", ".join(ALL_ENVS)]


def test_starter_goes_to_stdout_or_a_file_and_never_overwrites(tmp_path):
    spec = envs.spec("tictactoe")
    assert invoke("starter", "tictactoe").output == starter_source(spec)
    target = tmp_path / "agent.py"
    assert invoke("starter", "tictactoe", "-o", str(target)).exit_code == 0
    assert target.read_text() == starter_source(spec)
    target.write_text("mine")
    again = invoke("starter", "tictactoe", "-o", str(target))
    assert again.exit_code == 2 and "--force" in again.output
    assert target.read_text() == "mine"
    assert invoke("starter", "tictactoe", "-o", str(target), "--force").exit_code == 0
    assert target.read_text() == starter_source(spec)


def test_docs_command_renders_the_file(tmp_path):
    target = tmp_path / "ENVIRONMENTS.md"
    assert invoke("docs", "-o", str(target)).exit_code == 0
    assert target.read_text() == render_document(envs.list_envs())
    assert invoke("docs").output == render_document(envs.list_envs())
