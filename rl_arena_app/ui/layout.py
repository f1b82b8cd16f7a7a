"""The frame of every page: navigation, theme switch, width, footer."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from rl_arena_app.ui import routes
from rl_arena_app.ui.theme import PAGE_MAX_WIDTH

NAV = (("Overview", routes.OVERVIEW), ("Matches", routes.MATCHES), ("Status", routes.STATUS))


def navbar() -> rx.Component:
    """Brand, links and the light/dark switch."""
    return rx.box(
        rx.hstack(
            rx.link(rx.hstack(rx.icon("swords", size=22),
                              rx.heading("RL Arena", size="5",
                                         display=rx.breakpoints(initial="none", xs="block")),
                              align="center", spacing="2"),
                    href=routes.OVERVIEW, underline="none", color_scheme="gray",
                    high_contrast=True),
            rx.spacer(),
            *[rx.link(label, href=href, size=rx.breakpoints(initial="2", sm="3"),
                      weight="medium", color_scheme="gray", high_contrast=True)
              for label, href in NAV],
            rx.color_mode.button(size="2", variant="ghost"),
            align="center", spacing=rx.breakpoints(initial="3", sm="5"),
            max_width=PAGE_MAX_WIDTH, margin_x="auto",
            padding_x="1em", padding_y="0.75em"),
        border_bottom="1px solid var(--gray-a5)", position="sticky", top="0", z_index="10",
        background_color="var(--color-background)", width="100%")


def page_frame(body: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
    """Wrap a page's body in the frame."""

    def framed() -> rx.Component:
        return rx.box(
            navbar(),
            rx.box(body(), max_width=PAGE_MAX_WIDTH, margin_x="auto", padding_x="1em",
                   padding_y="1.5em", width="100%"),
            rx.box(rx.text("RL Arena: sandboxed reinforcement-learning competitions.",
                           size="1", color_scheme="gray"),
                   max_width=PAGE_MAX_WIDTH, margin_x="auto", padding="1em"),
            width="100%", min_height="100vh")

    framed.__name__ = body.__name__
    return framed
