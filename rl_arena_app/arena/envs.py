"""Environment registry in the style of PettingZoo: frozen specs, register, make, list_envs.

Each built-in spec carries its submitter documentation (`EnvDoc`): docs/ENVIRONMENTS.md,
`rl-arena env show` and the web dashboard are all rendered from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from rl_arena_app.arena.doc_records import DUEL_INFO, SOLO_INFO, Board, Entry, EnvDoc, plane_entries
from rl_arena_app.arena.games import DuelGame, SoloGame
from rl_arena_app.errors import BadInput

Game = DuelGame | SoloGame


@dataclass(frozen=True)
class EnvSpec:
    """Everything the referee needs to know about one environment."""

    id: str
    kind: Literal["duel", "solo"]
    version: str
    factory: Callable[[], Game] = field(repr=False, compare=False)
    description: str = ""
    move_timeout_s: float = 1.0
    time_bank_s: float = 10.0
    startup_timeout_s: float = 30.0
    games: int = 2
    episodes: int = 10
    # Default run seed; every game's and episode's seed derives from the run seed, so a solo
    # task's scoring episodes are fixed unless a different seed is asked for.
    seed: int = 0
    # Worst possible episode return: a forfeited solo episode scores this.
    worst_return: float = 0.0
    # What a submitter needs to write an agent, and which starter agent to begin from.
    doc: EnvDoc | None = field(default=None, repr=False, compare=False)


_REGISTRY: dict[str, EnvSpec] = {}


def register(spec: EnvSpec) -> EnvSpec:
    """Add an environment; ids are unique."""
    if spec.id in _REGISTRY:
        raise ValueError(f"environment {spec.id!r} is already registered")
    _REGISTRY[spec.id] = spec
    return spec


def spec(env_id: str) -> EnvSpec:
    """Look up a spec; unknown ids are a user error listing the known ones."""
    try:
        return _REGISTRY[env_id]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise BadInput(f"unknown environment {env_id!r}: use one of {known}") from None


def make(env_id: str) -> Game:
    """Build a fresh game instance for an environment id."""
    return spec(env_id).factory()


def list_envs() -> list[EnvSpec]:
    """All registered environments, sorted by id."""
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


_BOARD_REWARD = ("+1 for the winner and -1 for the loser when the game ends, 0 each for a draw; "
                 "every earlier move is worth 0.")
_FORFEIT = "An illegal action, a crash or running out of time forfeits the game instead."
_PLANE_TIP = ("Plane 0 holds the pieces of the player to move, not of seat 0: an agent that "
              "assumes it moves first misreads every game it plays second.")
_MASK_TIP = ("`info[\"action_mask\"]` is an int8 array of 0s and 1s, not booleans: "
             "`np.flatnonzero(info[\"action_mask\"])` lists the legal actions.")

_TICTACTOE_BOARD = Board(rows=3, cols=3, own_plane=0, piece="mark")
TICTACTOE_DOC = EnvDoc(
    summary="Two players take turns marking a free cell of a 3x3 grid; the first with three "
            "marks in a row, a column or a diagonal wins. With best play it is a draw.",
    observation="The board as the player to move sees it.",
    observation_shape=(3, 3, 2),
    observation_dtype="int8",
    components=plane_entries(_TICTACTOE_BOARD),
    action="The cell to mark: action `a` is row `a // 3`, column `a % 3` of the observation, "
           "so `observation[a // 3, a % 3]` is that cell. Only empty cells are legal.",
    actions=tuple(Entry(str(a), f"row {a // 3}, column {a % 3}") for a in range(9)),
    info=DUEL_INFO,
    reward=_BOARD_REWARD,
    episode_end="The game ends when a player has three marks in a line, or after 9 moves with "
                f"the board full (a draw). {_FORFEIT}",
    max_steps=9,
    starter="tictactoe.py",
    starter_about="The starter takes a winning cell when it has one, else blocks the opponent's, "
                  "else the centre, a corner, then an edge (ties broken by a generator seeded "
                  "from `info[\"seed\"]`). It beats `builtin:random` nearly every game; "
                  "`builtin:minimax` plays perfectly.",
    board=_TICTACTOE_BOARD,
    example_actions=(0, 4, 1),
    tips=(_PLANE_TIP, _MASK_TIP),
)

_CONNECT_FOUR_BOARD = Board(rows=6, cols=7, own_plane=0, bottom_row=5)
CONNECT_FOUR_DOC = EnvDoc(
    summary="Two players take turns dropping a piece into one of 7 columns of a 6-row grid; it "
            "falls to the lowest empty cell. The first with four pieces in a line (horizontal, "
            "vertical or diagonal) wins.",
    observation="The board as the player to move sees it.",
    observation_shape=(6, 7, 2),
    observation_dtype="int8",
    components=plane_entries(_CONNECT_FOUR_BOARD),
    action="The column to drop a piece in, 0 (leftmost) to 6. A full column is illegal.",
    actions=tuple(Entry(str(c), f"drop a piece in column {c}",
                        meaning={0: "leftmost", 3: "centre", 6: "rightmost"}.get(c, ""))
                  for c in range(7)),
    info=DUEL_INFO,
    reward=_BOARD_REWARD,
    episode_end="The game ends when a player has four pieces in a line, or after 42 moves with "
                f"the board full (a draw). {_FORFEIT}",
    max_steps=42,
    starter="connect_four.py",
    starter_about="The starter drops a winning piece when it can, else blocks the opponent's "
                  "four, avoids columns that let the opponent win on top of its piece, and "
                  "otherwise plays the most central column (ties broken by a generator seeded "
                  "from `info[\"seed\"]`). It beats `builtin:random` nearly every game; "
                  "`builtin:lookahead` searches deeper.",
    board=_CONNECT_FOUR_BOARD,
    example_actions=(3, 3, 2),
    tips=("Row 0 is the top row: the first piece dropped in a column lands on row 5.",
          _PLANE_TIP, _MASK_TIP),
)

CARTPOLE_DOC = EnvDoc(
    summary="A pole is hinged on a cart that moves along a track; push the cart left or right to "
            "keep the pole upright and the cart on the track.",
    observation="Gymnasium's `CartPole-v1` state. An episode starts with all four values drawn "
                "uniformly from -0.05 to 0.05.",
    observation_shape=(4,),
    observation_dtype="float32",
    components=(
        Entry("observation[0]", "cart position", "-4.8 to 4.8",
              "metres from the centre, > 0 right; the episode ends beyond ±2.4"),
        Entry("observation[1]", "cart velocity", "unbounded", "m/s, > 0 moving right"),
        Entry("observation[2]", "pole angle", "-0.4189 to 0.4189",
              "radians from upright, > 0 leaning right; the episode ends beyond ±0.2095 (12°)"),
        Entry("observation[3]", "pole angular velocity", "unbounded",
              "rad/s, > 0 falling to the right"),
    ),
    action="Push the cart with a fixed force.",
    actions=(Entry("0", "push the cart left"), Entry("1", "push the cart right")),
    info=SOLO_INFO,
    reward="+1 for every step, the last one included: the return is the number of steps the "
           "pole stayed up, at most 500.",
    episode_end="The episode ends when the pole leans more than 0.2095 rad (12°) from upright or "
                "the cart position leaves -2.4 to 2.4; it is cut off after 500 steps.",
    max_steps=500,
    starter="cartpole.py",
    starter_about="The starter is a fixed linear rule: push towards the side the pole leans and "
                  "falls, with a small pull back to the centre of the track. It keeps the pole up "
                  "for all 500 steps on the scoring seeds.",
    solved_return=475.0,
)

ACROBOT_DOC = EnvDoc(
    summary="Two links hang from a pivot, joined by a motorised elbow. Swing the tip of the "
            "second link above a line one link-length above the pivot, as fast as you can.",
    observation="Gymnasium's `Acrobot-v1` state, from two joint angles: `theta1`, the first "
                "link's angle from hanging straight down, and `theta2`, the second link's angle "
                "relative to the first (0 = in line). Both angles and their velocities start "
                "uniformly within -0.1 to 0.1.",
    observation_shape=(6,),
    observation_dtype="float32",
    components=(
        Entry("observation[0]", "cos(theta1)", "-1 to 1", "1 when the first link hangs down"),
        Entry("observation[1]", "sin(theta1)", "-1 to 1", ""),
        Entry("observation[2]", "cos(theta2)", "-1 to 1", "1 when the links are in line"),
        Entry("observation[3]", "sin(theta2)", "-1 to 1", ""),
        Entry("observation[4]", "theta1 angular velocity", "-12.57 to 12.57",
              "rad/s (±4π)"),
        Entry("observation[5]", "theta2 angular velocity", "-28.27 to 28.27",
              "rad/s (±9π)"),
    ),
    action="The torque applied at the elbow, between the two links.",
    actions=(Entry("0", "torque -1"), Entry("1", "no torque"), Entry("2", "torque +1")),
    info=SOLO_INFO,
    reward="-1 for every step that ends below the line, 0 for the step that reaches it: the "
           "return is minus the steps taken before reaching it, -500 if it never does.",
    episode_end="The episode ends when the tip is above the line, "
                "`-cos(theta1) - cos(theta1 + theta2) > 1`; it is cut off after 500 steps.",
    max_steps=500,
    starter="acrobot.py",
    starter_about="The starter applies the elbow torque against the first link's swing, which "
                  "pumps energy into it. Its mean return on the scoring seeds beats "
                  "Gymnasium's threshold of -100.",
    solved_return=-100.0,
)

MOUNTAIN_CAR_DOC = EnvDoc(
    summary="A car sits in a valley between two hills, with an engine too weak to drive "
            "straight up. Rock back and forth to build momentum and reach the flag on the "
            "right hilltop.",
    observation="Gymnasium's `MountainCar-v0` state. The car starts at rest at a position drawn "
                "uniformly from -0.6 to -0.4.",
    observation_shape=(2,),
    observation_dtype="float32",
    components=(
        Entry("observation[0]", "position", "-1.2 to 0.6",
              "the valley bottom is near -0.52 and the flag at 0.5; -1.2 is a wall that stops "
              "the car"),
        Entry("observation[1]", "velocity", "-0.07 to 0.07", "> 0 moving right"),
    ),
    action="Accelerate the car.",
    actions=(Entry("0", "accelerate left"), Entry("1", "coast"), Entry("2", "accelerate right")),
    info=SOLO_INFO,
    reward="-1 for every step, the last one included: the return is minus the number of steps "
           "taken, -200 if the car never reaches the flag.",
    episode_end="The episode ends when the car reaches the flag (position ≥ 0.5); it is cut "
                "off after 200 steps.",
    max_steps=200,
    starter="mountain_car.py",
    starter_about="The starter accelerates the way the car is moving, so every swing climbs "
                  "higher; it reaches the flag in every scoring episode.",
    solved_return=-110.0,
)


def _tictactoe() -> DuelGame:
    from pettingzoo.classic.tictactoe import tictactoe

    return DuelGame(tictactoe.raw_env, lambda env: "".join(map(str, env.board.squares)))


def _connect_four() -> DuelGame:
    from pettingzoo.classic.connect_four import connect_four

    return DuelGame(connect_four.raw_env, lambda env: "".join(map(str, env.board)))


register(EnvSpec("tictactoe", "duel", "pettingzoo-tictactoe_v3", _tictactoe,
                 "Tic-tac-toe on a 3x3 board (PettingZoo classic).", games=2,
                 doc=TICTACTOE_DOC))
register(EnvSpec("connect_four", "duel", "pettingzoo-connect_four_v3", _connect_four,
                 "Connect four on a 6x7 board (PettingZoo classic).", games=2,
                 doc=CONNECT_FOUR_DOC))
register(EnvSpec("CartPole-v1", "solo", "gymnasium-CartPole-v1", lambda: SoloGame("CartPole-v1"),
                 "Balance a pole on a cart; +1 per step, at most 500.", worst_return=0.0,
                 doc=CARTPOLE_DOC))
register(EnvSpec("Acrobot-v1", "solo", "gymnasium-Acrobot-v1", lambda: SoloGame("Acrobot-v1"),
                 "Swing a two-link arm above a line; -1 per step, at most 500.",
                 worst_return=-500.0, doc=ACROBOT_DOC))
register(EnvSpec("MountainCar-v0", "solo", "gymnasium-MountainCar-v0",
                 lambda: SoloGame("MountainCar-v0"),
                 "Drive an under-powered car up a hill; -1 per step, at most 200.",
                 worst_return=-200.0, doc=MOUNTAIN_CAR_DOC))
