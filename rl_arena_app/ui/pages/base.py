"""What every page's state shares: it loads data only while a browser shows that very page.

Reflex resolves every state's computed vars when a tab loads any page, and keeps a tab's states
across its navigation; a page's data vars therefore check that their page is the one shown
(and that a browser opened it: the app's compile never touches the database).
"""

from __future__ import annotations

from typing import ClassVar

import reflex as rx

from rl_arena_app.ui.live import Live
from rl_arena_app.ui.routes import showing


class PageState(rx.State):
    """The base of the pages' states."""

    shown: bool = False  # a browser opened a page of this app
    ROUTE: ClassVar[str] = ""

    def _here(self) -> bool:
        """Whether this state's page is the one the browser shows."""
        return self.shown and showing(self.router.route_id, self.ROUTE)

    async def _show(self, *topics: str) -> None:
        """A browser opened the page: follow the arena (and ``topics``) live from now on."""
        (await self.get_state(Live))._follow(*topics)
        self.shown = True

    async def _live_version(self) -> int:
        """The live version of what the tab follows: page data loaded at it is current."""
        return (await self.get_state(Live))._version

