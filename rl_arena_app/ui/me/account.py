"""What the parts of `/me` share: the account, checked again at every action, and the number of
the tab's latest action (a part's data reloads after it)."""

from __future__ import annotations

import asyncio

from rl_arena_app.errors import BadInput
from rl_arena_app.services.read_models import Account
from rl_arena_app.services.submissions.agents import my_agents
from rl_arena_app.ui import routes
from rl_arena_app.ui.cache import change_number
from rl_arena_app.ui.live import Live, agent_topic
from rl_arena_app.ui.pages.base import PageState
from rl_arena_app.ui.session import Session


class MyAccount(PageState):
    """The base of the `/me` parts' states."""

    ROUTE = routes.ME
    action_error: str = ""  # why the latest action on an agent or a token did nothing
    _changes: int = 0  # the number of this tab's latest action

    async def _signed_in(self) -> Account | None:
        """The account of this tab's session, checked now (logged out: None)."""
        return await (await self.get_state(Session))._signed_in()

    async def _account(self) -> Account | None:
        """Like ``_signed_in`` for an action; None says why on the page."""
        account = await self._signed_in()
        if account is None:
            self.action_error = "Your session has ended: log in again."
            self._changed()  # the page drops the account's data too
        return account

    def _changed(self) -> None:
        """This tab changed something: its parts load their data again."""
        self._changes = change_number()

    async def _follow(self, account: Account) -> None:
        """Follow my agents live."""
        mine = await asyncio.to_thread(my_agents, account)
        (await self.get_state(Live))._follow(*(agent_topic(a.agent_id) for a in mine))


def browser_id(value: object, what: str) -> int:
    """An id sent by the browser, as a number."""
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise BadInput(f"no such {what}: reload the page") from None
