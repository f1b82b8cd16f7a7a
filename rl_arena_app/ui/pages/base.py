"""What every page's state shares: it loads data only while a browser shows that very page.

Reflex resolves every state's computed vars when a tab loads any page, and keeps a tab's states
across its navigation; a page's data vars therefore check that their page is the one shown
(and that a browser opened it: the app's compile never touches the database).
"""

from __future__ import annotations

from typing import ClassVar

import reflex as rx


class PageState(rx.State):
    """The base of the pages' states."""

    shown: bool = False  # a browser opened a page of this app
    ROUTE: ClassVar[str] = ""

    def _here(self) -> bool:
        """Whether this state's page is the one the browser shows."""
        return self.shown and showing(self.router.route_id, self.ROUTE)


def showing(path: str, route: str) -> bool:
    """Whether the router's route id (``/index``, ``/envs/[env_id]``) is ``route``'s."""
    return path.strip("/") == (route.strip("/") or "index")
