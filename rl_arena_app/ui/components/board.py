"""Boards drawn as components from a replay's compact state (one character per cell).

A connect-four state is 42 characters, row 0 at the top; a tic-tac-toe state is 9, cell ``a``
at row ``a // 3``, column ``a % 3`` (the action that marks it). '0' is empty, '1' and '2' the
first and second seat. Colours are the Okabe-Ito blue and orange.
"""

from __future__ import annotations

import reflex as rx

SEAT_COLOURS = {"1": "#0072B2", "2": "#E69F00"}
SEAT_MARKS = {"1": "X", "2": "O"}


def _disc(piece: rx.Var[str], row: int, col: int) -> rx.Component:
    return rx.box(
        width="100%", aspect_ratio="1", border_radius="50%",
        background_color=rx.match(piece, ("1", SEAT_COLOURS["1"]), ("2", SEAT_COLOURS["2"]),
                                  "var(--gray-3)"),
        border="1px solid var(--gray-a6)", id=f"cell-{row}-{col}",
        custom_attrs={"data-piece": piece})


def connect_four(state: rx.Var[str]) -> rx.Component:
    """A 6x7 board from a 42-character state."""
    return rx.grid(
        *[_disc(state[row * 7 + col], row, col) for row in range(6) for col in range(7)],
        columns="7", spacing="1", padding="0.5em", border_radius="var(--radius-3)",
        background_color="var(--blue-a3)", width="min(100%, 22em)", id="board",
        class_name="board connect-four")


def _mark(piece: rx.Var[str], row: int, col: int) -> rx.Component:
    return rx.center(
        rx.text(rx.match(piece, ("1", SEAT_MARKS["1"]), ("2", SEAT_MARKS["2"]), ""),
                size="8", weight="bold",
                color=rx.match(piece, ("1", SEAT_COLOURS["1"]), ("2", SEAT_COLOURS["2"]),
                               "inherit")),
        aspect_ratio="1", border="1px solid var(--gray-a7)", id=f"cell-{row}-{col}",
        custom_attrs={"data-piece": piece})


def tictactoe(state: rx.Var[str]) -> rx.Component:
    """A 3x3 board from a 9-character state."""
    return rx.grid(*[_mark(state[row * 3 + col], row, col) for row in range(3)
                     for col in range(3)],
                   columns="3", spacing="0", width="min(100%, 14em)", id="board",
                   class_name="board tictactoe")
