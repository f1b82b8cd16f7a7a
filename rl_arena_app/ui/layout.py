"""The frame of every page: navigation, theme switch, width, footer."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from rl_arena_app.ui import routes
from rl_arena_app.ui.session import Session
from rl_arena_app.ui.theme import PAGE_MAX_WIDTH

NAV = (("Overview", routes.OVERVIEW), ("Matches", routes.MATCHES), ("Status", routes.STATUS))
LOGOUT_SCRIPT = ("const form = document.createElement('form'); form.method = 'post'; "
                 f"form.action = '{routes.LOGOUT}'; document.body.appendChild(form); "
                 "form.submit();")


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
            account_menu(),
            rx.color_mode.button(size="2", variant="ghost"),
            align="center", spacing=rx.breakpoints(initial="3", sm="5"),
            max_width=PAGE_MAX_WIDTH, margin_x="auto",
            padding_x="1em", padding_y="0.75em"),
        border_bottom="1px solid var(--gray-a5)", position="sticky", top="0", z_index="10",
        background_color="var(--color-background)", width="100%")


def account_menu() -> rx.Component:
    """"Log in", or the account's menu: my agents, admin (for admins), log out."""
    return rx.cond(
        Session.email != "",
        rx.menu.root(
            rx.menu.trigger(rx.button(rx.icon("circle-user", size=16),
                                      rx.text(Session.name, display=rx.breakpoints(
                                          initial="none", md="inline")),
                                      variant="soft", size="2", id="account-menu")),
            rx.menu.content(
                rx.box(rx.text(Session.email, size="1", color_scheme="gray", id="account-email"),
                       padding_x="0.75em", padding_y="0.25em"),
                rx.menu.item("My agents", on_click=rx.redirect(routes.ME)),
                rx.cond(Session.admin,
                        rx.menu.item("Admin", on_click=rx.redirect(routes.ADMIN),
                                     id="admin-link")),
                rx.menu.separator(),
                # A form POST from this page (its Origin is the dashboard's): the backend ends
                # the session, clears the cookie and sends the browser home. A GET only asks.
                rx.menu.item("Log out", id="logout", on_click=rx.call_script(LOGOUT_SCRIPT)))),
        rx.el.a(rx.button("Log in", size="2", variant="soft"), href=Session.login_href,
                id="login-link"))


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
