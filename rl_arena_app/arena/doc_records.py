"""The records a submitter's documentation is made of: table rows, board layouts, the EnvDoc of
an environment and the info keys every environment sends. Data only: `env_docs` renders them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One row of a documentation table: an observation component, an action or an info key."""

    key: str
    name: str
    values: str = ""
    meaning: str = ""


@dataclass(frozen=True)
class Board:
    """How a board game's observation is laid out; tests check it against the real game."""

    rows: int
    cols: int
    own_plane: int  # the plane holding the pieces of the player to move
    bottom_row: int | None = None  # where pieces land first, for games with gravity
    piece: str = "piece"  # what the game calls a player's token


def plane_entries(board: Board) -> tuple[Entry, Entry]:
    """The two observation planes of a board game, in plane order, from its layout."""
    piece = board.piece
    own = Entry(f"observation[:, :, {board.own_plane}]", f"your {piece}s", "0 or 1",
                f"1 where the player to move (you) has a {piece}")
    other = Entry(f"observation[:, :, {1 - board.own_plane}]", f"opponent's {piece}s", "0 or 1",
                  f"1 where your opponent has a {piece}; 0 in both planes is an empty cell")
    return (own, other) if board.own_plane == 0 else (other, own)


@dataclass(frozen=True)
class EnvDoc:
    """The observation, action, info, reward and ending of one environment, for submitters."""

    summary: str
    observation: str
    observation_shape: tuple[int, ...]
    observation_dtype: str
    components: tuple[Entry, ...]
    action: str
    actions: tuple[Entry, ...]
    info: tuple[Entry, ...]
    reward: str
    episode_end: str
    max_steps: int
    starter: str  # file name under rl_arena_app/arena/starters/
    starter_about: str
    board: Board | None = None
    solved_return: float | None = None  # Gymnasium's reward threshold
    example_actions: tuple[int, ...] = ()
    tips: tuple[str, ...] = ()


def _common_info(player: str, step: str) -> tuple[Entry, ...]:
    """Info keys every environment sends: per move, then fixed for the game (also in reset)."""
    return (
        Entry("player", "your seat", "int", player),
        Entry("step", "moves so far", "int", step),
        Entry("time_left_s", "time for this move", "float, seconds",
              "The move limit plus what is left of your time bank; answer within it."),
        Entry("seed", "your seed", "int",
              "Derived from the run's seed, different every game or episode; Python's `random` and "
              "`numpy.random` are already seeded with it. Seed your own generators from it to "
              "make runs replay identically."),
        Entry("env", "environment id", "str", "This environment's id."),
        Entry("action_space", "the action space", "dict",
              '`{"type": "discrete", "n": N}`: actions are the integers 0 .. N-1.'),
        Entry("move_timeout_s", "move limit", "float, seconds", "Seconds allowed per move."),
        Entry("time_bank_s", "time bank", "float, seconds",
              "Overage seconds per game or episode, spent by moves slower than the move limit."),
    )


DUEL_INFO = (
    Entry("action_mask", "legal actions", "numpy int8 array, one per action",
          "`action_mask[a] == 1` when action `a` is legal now; any other action forfeits."),
    *_common_info("0 if you move first in this game, 1 if second; seats alternate between the "
                  "games of a match.",
                  "Moves played so far in this game by both players (0 on the first move)."),
)
SOLO_INFO = _common_info("Always 0.", "Steps taken so far in this episode (0 on the first).")
