"""Small pieces every page uses: badges, stats, callouts, empty and not-found states, times,
the frame of a detail page."""

from __future__ import annotations

import reflex as rx

from rl_arena_app.ui import routes
from rl_arena_app.ui.theme import NUMERIC

STATUS_COLOURS = {"queued": "gray", "building": "amber", "validating": "amber", "ready": "green",
                  "failed": "red", "running": "blue", "finished": "green"}


def status_badge(status: rx.Var[str] | str) -> rx.Component:
    """A submission's or match's status as a coloured badge."""
    return rx.badge(status, color_scheme=rx.match(
        status, *STATUS_COLOURS.items(), "gray"), variant="soft", radius="full")


def stat(label: str, value: rx.Var | str | int, id: str = "") -> rx.Component:
    """A labelled number for a strip or a card."""
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.text(value, size="4", weight="bold", style={**NUMERIC, "text_align": "left"},
                overflow_wrap="anywhere", white_space="normal", id=id or None),
        spacing="0", align="start", min_width="0")


def ago(when: rx.Var) -> rx.Component:
    """A time as "3 minutes ago", exact on hover; "never" when there is none."""
    return rx.cond(when, rx.tooltip(rx.moment(when, from_now=True), content=when.to(str)),
                   rx.text("never", as_="span"))


def time_stat(label: str, when: rx.Var, **text_props) -> rx.Component:
    """A labelled time, relative ("3 minutes ago"); ``text_props`` style the time."""
    return rx.vstack(rx.text(label, size="1", color_scheme="gray"),
                     rx.text(ago(when), **text_props) if text_props else ago(when), spacing="0")


def error_callout(message: rx.Var[str], **props) -> rx.Component:
    """A red callout saying what went wrong; nothing while ``message`` is empty."""
    return rx.cond(message != "", rx.callout(message, icon="triangle-alert", color_scheme="red",
                                             width="100%", **props))


def empty_state(text: str | rx.Var, icon: str = "inbox") -> rx.Component:
    """What a person sees where there is nothing yet, saying what will happen."""
    return rx.callout(text, icon=icon, color_scheme="gray", variant="surface", width="100%")


def not_found(what: str, message: rx.Var | str) -> rx.Component:
    """A clear "not found" page body."""
    return rx.vstack(
        rx.heading(f"{what} not found", size="7"),
        rx.text(message, color_scheme="gray"),
        rx.link("Back to the overview", href=routes.OVERVIEW),
        spacing="3", padding_y="3em", id="not-found")


def breadcrumb(*crumbs: tuple[str | rx.Var, str | rx.Var], open_end: bool = False
               ) -> rx.Component:
    """Links up the site (label, href), slash-separated; ``open_end``: a slash after the last."""
    parts: list[rx.Component] = []
    for label, href in crumbs:
        if parts:
            parts.append(rx.text("/", color_scheme="gray"))
        parts.append(rx.link(label, href=href, color_scheme="gray"))
    if open_end:
        parts.append(rx.text("/", color_scheme="gray"))
    return rx.hstack(*parts, spacing="2")


def detail_frame(what: str, missing: rx.Var[str], content: rx.Component,
                 loaded: rx.Var | None = None) -> rx.Component:
    """A page about one thing: "not found" when ``missing`` says why, a spinner until
    ``loaded`` (if given), then ``content``."""
    shown = content if loaded is None else rx.cond(loaded, content, rx.spinner())
    return rx.cond(missing != "", not_found(what, missing), shown)


def loading() -> rx.Component:
    """A placeholder while a page's data arrives."""
    return rx.hstack(rx.spinner(), rx.text("Loading…", color_scheme="gray"), padding="2em")


def section(title: str, *children: rx.Component, id: str = "",
            aside: rx.Component | None = None) -> rx.Component:
    """A titled block of a page."""
    header = rx.hstack(rx.heading(title, size="5"), rx.spacer(), aside or rx.fragment(),
                       align="center", width="100%")
    return rx.vstack(header, *children, spacing="3", width="100%", id=id or None,
                     padding_top="1em")


def native_form(*children: rx.Component, action: str, **props) -> rx.Component:
    """A form the browser posts itself (a page load): for routes that answer with a cookie.

    Reflex's forms always cancel the browser's submit to send an event instead.
    """
    form = rx.el.form(*children, action=action, method="post", **props)
    form.event_triggers.pop("on_submit", None)
    return form
