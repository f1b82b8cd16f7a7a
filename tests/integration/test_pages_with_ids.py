"""The dashboard's pages that take an id from the URL (agent, match, validation): an id past
what the database can hold, or not an id at all, is "not found" like any unknown id."""

from __future__ import annotations

import asyncio

from reflex.state import State

from rl_arena_app.ui import routes
from tests.support.api import person
from tests.support.factory import agent_of, played_match
from tests.support.handlers import app_handlers

PAGES = {  # handler, route, its parameter, what the page says when there is nothing
    "agent": ("AgentState.open", routes.AGENT, "agent_id", "There is no agent"),
    "match": ("MatchState.open", routes.MATCH, "match_id", "There is no match"),
    "validation": ("ValidationState.open", routes.VALIDATION, "submission_id",
                   "has no validation replay"),
}


def open_page(page: str, value: str):
    """Open a page as a tab whose URL carries ``value`` as the id; the page's state after."""
    handler_name, route, param, _ = PAGES[page]
    handler = app_handlers()[handler_name]
    root = State(_reflex_internal_init=True)
    root._update_router_vars({"headers": {}, "token": "tab-under-test",
                              "pathname": route, "query": {param: value}}, {})
    state = root.get_substate(handler.state.get_full_name().split(".")[1:])
    asyncio.run(handler.fn(state))
    return state


def test_an_id_past_what_the_database_holds_is_not_found_like_any_unknown_id(platform):
    alice, bob = person("alice@example.org"), person("bob@example.org")
    mine = agent_of(alice)
    known = {"agent": str(mine), "match": str(played_match(mine, agent_of(bob)))}

    for page, (_, _, _, nothing) in PAGES.items():
        for value in ("99999999999999999999", "2147483648", "0", "²", "abc"):
            assert nothing in open_page(page, value).missing, (page, value)
        if page in known:
            assert open_page(page, known[page]).missing == "", page
