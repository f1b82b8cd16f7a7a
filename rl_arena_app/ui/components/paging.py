"""Server-side paging: the window a page of rows shows, the state that moves it, its pager."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import reflex as rx


@dataclass(frozen=True, slots=True)
class Window:
    """Where a page of rows stands in the whole list: ``first``-``last`` of ``total``."""

    total: int
    first: int
    last: int
    has_prev: bool
    has_next: bool


def window(offset: int, shown: int, total: int) -> Window:
    """The window of ``shown`` rows from ``offset`` in a list of ``total``."""
    return Window(total=total, first=offset + 1 if shown else 0, last=offset + shown,
                  has_prev=offset > 0, has_next=offset + shown < total)


class Paging(rx.State, mixin=True):
    """A list paged on the server, ``PAGE_SIZE`` rows at a time, from the top after a filter
    or sort changes."""

    PAGE_SIZE: ClassVar[int] = 50
    offset: int = 0

    def _refilter(self, **filters: object) -> None:
        """Set filters (state fields by name) and go back to the first page."""
        for name, value in filters.items():
            setattr(self, name, value)
        self.offset = 0

    @rx.event
    def next_page(self):
        self.offset += self.PAGE_SIZE

    @rx.event
    def previous_page(self):
        self.offset = max(0, self.offset - self.PAGE_SIZE)


def pager(at: rx.Var[Window], on_prev, on_next) -> rx.Component:
    """``1-50 of 10000`` with previous and next buttons."""
    return rx.hstack(
        rx.text(at.first, "-", at.last, " of ", at.total, size="2", color_scheme="gray",
                id="pager-text"),
        rx.icon_button(rx.icon("chevron-left"), on_click=on_prev, disabled=~at.has_prev,
                       variant="soft", size="1", id="page-prev", aria_label="previous page"),
        rx.icon_button(rx.icon("chevron-right"), on_click=on_next, disabled=~at.has_next,
                       variant="soft", size="1", id="page-next", aria_label="next page"),
        align="center", spacing="2")


def paged(table: rx.Component, at: rx.Var[Window], on_prev, on_next,
          empty: rx.Component) -> rx.Component:
    """A page of a list above its pager, or ``empty`` when the list has no row."""
    return rx.cond(at.total > 0,
                   rx.vstack(table, pager(at, on_prev, on_next), align="end", width="100%"),
                   empty)
