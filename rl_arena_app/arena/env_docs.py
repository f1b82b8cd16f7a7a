"""What a submitter needs to write an agent, rendered from an environment's EnvDoc record.

The records (`doc_records`) are data the web dashboard lays out itself; `render_env` and
`render_document` turn them into the Markdown of docs/ENVIRONMENTS.md and `rl-arena env show`,
`as_json` into the JSON of `rl-arena env show --json`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rl_arena_app.arena.doc_records import Board, Entry, EnvDoc
from rl_arena_app.arena.envs import EnvSpec
from rl_arena_app.arena.starters import starter_path

DOCS_PATH = "docs/ENVIRONMENTS.md"
REGENERATE = f"rl-arena env docs -o {DOCS_PATH}"


# The fixed part of info: what reset(info) gets, at the start of every game or episode.
RESET_KEYS = ("seed", "env", "player", "action_space", "move_timeout_s", "time_bank_s")

CONTRACT = f"""\
Your `agent.py` defines `act(observation, info)` returning an action, or a class `Agent`
with `act(self, observation, info)` and an optional `reset(self, info)`. The referee calls
`reset` before the first move of every game or episode, with the fixed part of `info`
({", ".join(f"`{key}`" for key in RESET_KEYS)}); `act` gets all of `info` on every move.
One agent process plays all the games or episodes of a run (a match, or the validation of a
submission), so module and instance state carries over between them.

The `observation` arrives as a numpy array with the dtype and shape given below. Return a
Python `int` (a numpy integer is fine too); `True`, `1.0`, a string or an out-of-range or
illegal action forfeits the game (`illegal_action`). Your agent is never sent a reward: what
counts is the outcome the referee records. Python 3.11 and numpy are always available.

A Kaggle-format agent runs unchanged: an `agent.py` (or an archive with `main.py` at its root)
that defines neither `act` nor `Agent` has its last top-level callable called as
`agent(observation, configuration)`, or `agent(observation)` if it takes one argument. The
module runs at start-up (not as `__main__`, its folder on `sys.path`); its answer is cast to
`int`, and one that cannot be is an illegal action. Board games get Kaggle's `board` and
`mark` (see each game's "Kaggle form"); solo tasks get the observation as a plain list and a
`configuration` with `actTimeout`, `timeout`, `agentTimeout` and `actions`.

A trained policy can come as an ONNX model instead: a `policy.onnx` (or an archive with it at
its root, an optional `policy.json` beside it and no `agent.py` or `main.py`) is run by the
platform's harness with onnxruntime. It gets the same observation, as it is or flattened, and
its first output is one score per action (the best legal action is played) or the action
itself; see each environment's "ONNX form". The model is checked when it is submitted: it must
load and its input and output must fit the environment."""

# Kaggle's line length of the board games it knows (the harness's kaggle.py has the same).
KAGGLE_INAROW = {"connect_four": 4, "tictactoe": 3}


@dataclass(frozen=True)
class Example:
    """The observation and mask the player to move gets after some actions from reset(seed=0)."""

    actions: tuple[int, ...]
    player: int
    observation: np.ndarray
    action_mask: np.ndarray | None


def doc_of(spec: EnvSpec) -> EnvDoc:
    """The spec's documentation; a registered env without one is a programming error."""
    if spec.doc is None:
        raise LookupError(f"environment {spec.id!r} has no documentation (EnvSpec.doc)")
    return spec.doc


def starter_source(spec: EnvSpec) -> str:
    """The source of the environment's starter agent."""
    return starter_path(doc_of(spec).starter).read_text(encoding="utf-8")


def play_command(spec: EnvSpec, agent: str = "agent.py") -> str:
    """The command that tries an agent locally, against builtin:random in duels."""
    opponent = " builtin:random" if spec.kind == "duel" else ""
    return f"rl-arena play {spec.id} {agent}{opponent} --sandbox process"


def starter_command(spec: EnvSpec) -> str:
    """The command that writes the environment's starter agent to agent.py."""
    return f"rl-arena env starter {spec.id} -o agent.py"


def limits(spec: EnvSpec) -> tuple[Entry, ...]:
    """The time rules and run sizes of an environment, as table rows."""
    unit = "game" if spec.kind == "duel" else "episode"
    rows = [
        Entry("move_timeout_s", "move limit", f"{spec.move_timeout_s:g} s",
              "Time for one move."),
        Entry("time_bank_s", "time bank", f"{spec.time_bank_s:g} s per {unit}",
              "Spent by moves slower than the move limit; a move past both forfeits (timeout)."),
        Entry("startup_timeout_s", "start-up", f"{spec.startup_timeout_s:g} s",
              "Time to import agent.py and create the agent."),
    ]
    if spec.kind == "duel":
        rows.append(Entry("games", "games per match", str(spec.games),
                          "Seats alternate, so each agent moves first equally often."))
    else:
        rows.append(Entry("episodes", "scored episodes", str(spec.episodes),
                          "On the season's secret seeds (`rl-arena play` practises on public "
                          f"seeds derived from seed {spec.seed})."))
    return tuple(rows)


def scoring(spec: EnvSpec) -> str:
    """How the arena scores and ranks submissions of this environment."""
    if spec.kind == "duel":
        return (f"Each game scores 1 for a win, ½ for a draw and 0 for a loss or a forfeit. A new "
                f"submission first plays {spec.games} validation games against `builtin:random` "
                f"and must not forfeit any; then matchmaking pairs it with other submissions in "
                f"matches of {spec.games} games, and the leaderboard ranks Elo ratings (with "
                f"Bradley-Terry ratings and intervals beside them).")
    return (f"A new submission plays {spec.episodes} episodes on the season's secret seeds "
            f"(derived from the server's secret; `info[\"seed\"]` is an unrelated value, and the "
            f"season's replays hide them); its score on the leaderboard is the mean return. A "
            f"forfeited episode scores {spec.worst_return:g}, and any forfeit fails the "
            f"submission. An admin's new season draws new seeds and scores every ready version "
            f"again.")


def example(spec: EnvSpec) -> Example:
    """Play the documented example actions from reset(seed=0) on the real environment."""
    game = spec.factory()
    game.reset(0)
    actions = doc_of(spec).example_actions
    for action in actions:
        game.observe()  # the mask that parse_action checks the action against
        game.step(game.parse_action(action))
    player = game.to_move()
    if player is None:
        raise ValueError(f"{spec.id}: the example actions {actions} end the game")
    observation, extra = game.observe()
    return Example(actions, player, np.asarray(observation), extra.get("action_mask"))


def as_json(spec: EnvSpec) -> dict[str, Any]:
    """Everything documented about an environment as plain JSON (the CLI's and web's shape)."""
    doc = doc_of(spec)
    shown = example(spec)
    return {
        "id": spec.id, "kind": spec.kind, "version": spec.version,
        "description": spec.description, "doc": dataclasses.asdict(doc),
        "limits": [dataclasses.asdict(row) for row in limits(spec)],
        "scoring": scoring(spec), "starter": doc.starter,
        "starter_command": starter_command(spec), "play_command": play_command(spec),
        "example": {"actions": list(shown.actions), "player": shown.player,
                    "observation": shown.observation.tolist(),
                    "action_mask": None if shown.action_mask is None
                    else shown.action_mask.tolist()},
    }


# ----------------------------------------------------------------------------- Markdown


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _layout(board: Board) -> str:
    """The sentence that says which plane is whose and which row is the bottom."""
    other = 1 - board.own_plane
    text = (f"`observation[row, col, {board.own_plane}]` is 1 where the player to move — you, "
            f"whichever seat you play — has a {board.piece}, `observation[row, col, {other}]` "
            f"where your opponent has one.")
    if board.bottom_row is not None:
        top = board.rows - 1 - board.bottom_row
        text += (f" Row {board.bottom_row} is the bottom row, where {board.piece}s land first; "
                 f"row {top} is the top; column 0 is the leftmost.")
    return text


def _board_example(shown: Example, board: Board) -> str:
    """Both planes of an example observation, side by side, rows in observation order."""
    moves = ", ".join(map(str, shown.actions))
    planes = [board.own_plane, 1 - board.own_plane]
    heads = [f"[:, :, {p}] {'yours' if p == board.own_plane else 'theirs'}" for p in planes]
    width = max(2 * board.cols, *map(len, heads)) + 3
    lines = ["       " + "".join(h.ljust(width) for h in heads).rstrip()]
    for r in range(board.rows):
        cells = [" ".join(str(int(v)) for v in shown.observation[r, :, p]) for p in planes]
        mark = "  bottom" if r == board.bottom_row else ""
        lines.append(f"row {r}  " + "".join(c.ljust(width) for c in cells).rstrip() + mark)
    mask = " ".join(str(int(v)) for v in np.asarray(shown.action_mask).ravel())
    lines.append(f'info["action_mask"] = [{mask}]')
    return (f"After the actions {moves} from `reset(seed=0)`, seat {shown.player} is to move and "
            f"receives:\n\n```text\n" + "\n".join(lines) + "\n```")


def _vector_example(shown: Example) -> str:
    """An example observation vector."""
    values = ", ".join(f"{float(v):.4f}" for v in shown.observation.ravel())
    return (f"The first observation after `reset(seed=0)` (rounded):\n\n"
            f"```text\nobservation = [{values}]\n```")


def _example_section(spec: EnvSpec) -> str:
    """The example observation, computed from the real environment."""
    shown = example(spec)
    board = doc_of(spec).board
    return _board_example(shown, board) if board else _vector_example(shown)


def render_env(spec: EnvSpec, level: int = 2) -> str:
    """One environment's documentation as Markdown, its title at heading `level`."""
    doc = doc_of(spec)
    h, hh = "#" * level, "#" * (level + 1)
    kind = ("Duel: two agents take turns" if spec.kind == "duel"
            else "Solo: one agent, scored on its episode returns")
    observation = doc.observation + (f" {_layout(doc.board)}" if doc.board else "")
    parts = [
        f"{h} {spec.id}",
        f"{spec.description} {kind}; version `{spec.version}`.",
        doc.summary,
        f"{hh} Observation",
        f"{observation}\n\nA numpy array of shape `{doc.observation_shape}`, "
        f"dtype `{doc.observation_dtype}`.",
        _table(["Index", "Name", "Values", "Meaning"],
               [(f"`{e.key}`", e.name, e.values, e.meaning) for e in doc.components]),
        f"{hh} Action",
        doc.action,
        _table(["Action", "Meaning"],
               [(f"`{e.key}`", e.name + (f": {e.meaning}" if e.meaning else ""))
                for e in doc.actions]),
        f"{hh} Info",
        "`info` is a dict with these keys (numpy arrays restored):",
        _table(["Key", "Values", "Meaning"], [(f"`{e.key}`", e.values, e.meaning)
                                              for e in doc.info]),
        f"{hh} Reward and scoring",
        doc.reward + (f" Gymnasium's reward threshold for solving the task is "
                      f"{doc.solved_return:g}." if doc.solved_return is not None else ""),
        scoring(spec),
        f"{hh} End of {'a game' if spec.kind == 'duel' else 'an episode'}",
        doc.episode_end,
        f"{hh} Time limits",
        _table(["Rule", "Value", "Meaning"], [(e.name, e.values, e.meaning)
                                              for e in limits(spec)]),
        f"{hh} Example",
        _example_section(spec),
    ]
    if (kaggle := kaggle_section(spec)) is not None:
        parts += [f"{hh} Kaggle form", kaggle]
    parts += [f"{hh} ONNX form", onnx_section(spec)]
    if doc.tips:
        parts += [f"{hh} Pitfalls", "\n".join(f"- {tip}" for tip in doc.tips)]
    parts += [
        f"{hh} Starter agent",
        f"{doc.starter_about} Write it to `agent.py` and play it locally:",
        f"```bash\n{starter_command(spec)}\n{play_command(spec)}\n```",
    ]
    return "\n\n".join(parts) + "\n"


def _kaggle_example(board: Board) -> str:
    """A one-line random Kaggle agent for a board: by column with gravity, else by cell."""
    if board.bottom_row is not None:
        return ("import random\n\n\ndef my_agent(obs, conf):\n    return random.choice("
                "[c for c in range(conf.columns) if obs.board[c] == 0])")
    return ("import random\n\n\ndef my_agent(obs, conf):\n    return random.choice("
            "[i for i, cell in enumerate(obs.board) if cell == 0])")


def kaggle_section(spec: EnvSpec) -> str | None:
    """How a Kaggle-format agent sees this board game, with an example; None for other envs."""
    board = doc_of(spec).board
    inarow = KAGGLE_INAROW.get(spec.id)
    if board is None or inarow is None:
        return None
    cells = board.rows * board.cols
    run = (cells + 1) // 2 * spec.move_timeout_s + spec.time_bank_s
    index = ("`col + row * columns`" if board.bottom_row is not None
             else f"`row * {board.cols} + col`, the cell's action number")
    return (
        f"`observation.board` (or `observation[\"board\"]`) is a flat list of {cells} ints, "
        f"index {index}, row 0 on top: 0 empty, 1 and 2 by mark. `observation.mark` is 1 "
        f"for the player who moved first in this game and 2 for the other (`info[\"player\"] + "
        f"1`); `observation.step` is the moves played so far and "
        f"`observation.remainingOverageTime` what is left of your time bank, in seconds. "
        f"`configuration` holds `rows` {board.rows}, `columns` {board.cols}, `inarow` "
        f"{inarow}, `actTimeout` and `timeout` (the move limit, {spec.move_timeout_s:g} s), "
        f"`agentTimeout` (the time bank, {spec.time_bank_s:g} s), `episodeSteps` {cells} "
        f"(the longest game) and `runTimeout` ({run:g} s: the most thinking time a game "
        f"allows you, your moves at the move limit plus the bank). The answer is cast to "
        f"`int`.\n\n```python\n{_kaggle_example(board)}\n```"
    )


def onnx_section(spec: EnvSpec) -> str:
    """How an ONNX policy fits this environment: its input and output shapes, the export line."""
    doc = doc_of(spec)
    dims = ", ".join(map(str, doc.observation_shape))
    flat = int(np.prod(doc.observation_shape))
    n = len(doc.actions)
    legal = " legal" if spec.kind == "duel" else ""
    return (
        f"A `policy.onnx` takes the observation as it is, shape `[1, {dims}]`"
        + (f", or flattened, `[1, {flat}]`" if len(doc.observation_shape) > 1 else "")
        + " (the batch dimension may be named, or left out), cast to its input's "
        f"element type (`float` in most exports). Its first output is {n} scores, shape "
        f"`[1, {n}]` (logits, probabilities or Q-values: the best{legal} action is played), or "
        f"the action itself, an integer of shape `[1]`"
        + (" (an illegal one forfeits the game)" if spec.kind == "duel" else "")
        + ". When the shapes leave it open, a `policy.json` beside the model says which: "
        '`{"input": "obs", "observation": "flat", "output": "logits"}` (`observation` is '
        '`"env"` or `"flat"`, `output` `"logits"`, `"probs"` or `"action"`). Exported from '
        f"PyTorch:\n\n```python\ntorch.onnx.export(net, (torch.zeros(1, {dims}),), "
        '"policy.onnx",\n                  input_names=["obs"], output_names=["logits"], '
        'external_data=False)\n```'
    )


def _index(specs: Sequence[EnvSpec]) -> str:
    """A table of all environments with links to their sections."""
    rows = []
    for spec in specs:
        doc = doc_of(spec)
        rows.append((f"[{spec.id}](#{spec.id.lower()})", spec.kind,
                     f"`{doc.observation_dtype}` `{doc.observation_shape}`",
                     str(len(doc.actions)), f"`{starter_command(spec)}`"))
    return _table(["Environment", "Kind", "Observation", "Actions", "Starter agent"], rows)


def render_document(specs: Sequence[EnvSpec]) -> str:
    """The whole of docs/ENVIRONMENTS.md."""
    head = (f"<!-- Generated from the EnvSpecs in rl_arena_app/arena/envs.py: do not edit; "
            f"regenerate with `{REGENERATE}`. -->\n\n"
            f"# Environments\n\n"
            f"What each environment sends your agent, what it expects back and how it is "
            f"scored. `rl-arena env show ENV` prints one section in the terminal; "
            f"`rl-arena env starter ENV -o agent.py` writes a starter agent to begin from.\n\n"
            f"## Writing an agent\n\n{CONTRACT}\n\n{_index(specs)}\n")
    return "\n".join([head, *(render_env(spec) for spec in specs)])
