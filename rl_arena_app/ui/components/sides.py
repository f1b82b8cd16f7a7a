"""The two sides of a match: who played, their points and Elo change, in a list or as cards."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from rl_arena_app.services.read_models import Side
from rl_arena_app.ui import format, routes
from rl_arena_app.ui.components.common import stat


@dataclass(frozen=True, slots=True)
class SideView:
    """A player of a match as listed."""

    name: str
    href: str
    points: str
    elo: str


def side_view(side: Side) -> SideView:
    """A player with its points and Elo change."""
    return SideView(name=f"{side.agent.name} v{side.agent.version}",
                    href=routes.agent(side.agent.agent_id), points=format.points(side.points),
                    elo=format.change(side.elo_before, side.elo_after))


def side_cell(side: rx.Var[SideView]) -> rx.Component:
    """A player in a table row: name and Elo change."""
    return rx.table.cell(rx.hstack(rx.link(side.name, href=side.href), rx.text(
        side.elo, size="1", color_scheme="gray"), spacing="2", align="center"))


def side_card(side: rx.Var[SideView], label: str) -> rx.Component:
    """A player as a card: name, points, Elo change."""
    return rx.card(rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.link(side.name, href=side.href, size="5", weight="bold"),
        rx.hstack(stat("points", side.points), stat("Elo", side.elo), spacing="5"),
        spacing="1"), flex="1")
