"""Tables: sortable headers, right-aligned numbers, a pager, horizontal scroll on phones."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from rl_arena_app.ui.theme import NUMERIC


def sortable_header(label: str, key: str, sort: rx.Var[str], descending: rx.Var[bool],
                    on_sort: Callable[[str], rx.event.EventSpec], numeric: bool = False,
                    tooltip: str = "") -> rx.Component:
    """A column header that sorts by ``key`` (again: the other way)."""
    arrow = rx.cond(sort == key, rx.cond(descending, " ↓", " ↑"), "")
    button = rx.link(rx.text(label, arrow, weight="bold", size="2", as_="span"),
                     on_click=on_sort(key), color_scheme="gray", high_contrast=True,
                     underline="hover", cursor="pointer", id=f"sort-{key}")
    cell = rx.tooltip(button, content=tooltip) if tooltip else button
    return rx.table.column_header_cell(cell, justify="end" if numeric else "start",
                                       white_space="nowrap")


def header(label: str, numeric: bool = False, tooltip: str = "") -> rx.Component:
    """A plain column header."""
    text = rx.text(label, weight="bold", size="2")
    return rx.table.column_header_cell(rx.tooltip(text, content=tooltip) if tooltip else text,
                                       justify="end" if numeric else "start",
                                       white_space="nowrap")


def num(value, **props) -> rx.Component:
    """A right-aligned number cell."""
    return rx.table.cell(value, style=NUMERIC, **props)


def scrolling(table: rx.Component) -> rx.Component:
    """A table that scrolls sideways when the screen is narrower than it."""
    return rx.box(table, overflow_x="auto", width="100%")


def pager(first: rx.Var[int], last: rx.Var[int], total: rx.Var[int], on_prev, on_next,
          has_prev: rx.Var[bool], has_next: rx.Var[bool]) -> rx.Component:
    """``1-50 of 10000`` with previous and next buttons."""
    return rx.hstack(
        rx.text(first, "-", last, " of ", total, size="2", color_scheme="gray", id="pager-text"),
        rx.icon_button(rx.icon("chevron-left"), on_click=on_prev, disabled=~has_prev,
                       variant="soft", size="1", id="page-prev", aria_label="previous page"),
        rx.icon_button(rx.icon("chevron-right"), on_click=on_next, disabled=~has_next,
                       variant="soft", size="1", id="page-next", aria_label="next page"),
        align="center", spacing="2")
