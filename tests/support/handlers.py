"""The dashboard's event handlers, found in the app's states and called as Reflex calls them."""

from __future__ import annotations

import asyncio

from reflex.state import State

from rl_arena_app.services.accounts import sessions


def app_handlers() -> dict[str, object]:
    """Every event handler of the app's states (Reflex's own internal states left out)."""
    import rl_arena_app.rl_arena_app  # noqa: F401  (registers every page's state)

    found, pending = {}, list(State.get_substates())
    while pending:
        state = pending.pop()
        pending.extend(state.get_substates())
        if not state.__module__.startswith("rl_arena_app."):
            continue
        for name, handler in state.event_handlers.items():
            if name != "setvar":  # Reflex's generic setter: only calls the set_* rows below
                found[f"{state.__name__}.{name}"] = handler
    return found


def run(handler_name: str, cookie: str | None, *args, **fields):
    """Call a handler as a tab with this session cookie would; its state afterwards."""
    handler = app_handlers()[handler_name]
    state_class = handler.state
    root = State(_reflex_internal_init=True)
    root._update_router_vars({"headers": {"cookie": f"{sessions.COOKIE}={cookie}"
                                          if cookie else ""},
                              "token": "tab-under-test", "pathname": "/"}, {})
    state = root.get_substate(state_class.get_full_name().split(".")[1:])
    for key, value in fields.items():
        setattr(state, key, value)
    asyncio.run(handler.fn(state, *args))
    return state
