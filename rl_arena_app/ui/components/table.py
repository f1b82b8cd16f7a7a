"""Tables: the shell, sortable headers, right-aligned numbers, horizontal scroll on phones."""

from __future__ import annotations

from collections.abc import Callable, Sequence

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


def table(headers: Sequence[rx.Component], rows: rx.Var[list], row: Callable[..., rx.Component],
          id: str = "", variant: str = "surface") -> rx.Component:
    """A small table of ``rows`` (``row`` draws each), scrolling sideways on a phone."""
    return scrolling(rx.table.root(
        rx.table.header(rx.table.row(*headers)), rx.table.body(rx.foreach(rows, row)),
        size="1", variant=variant, width="100%", id=id or None))
