"""Who may run each dashboard event handler: anonymous, the owner, another submitter, an admin.

The handlers are found in the app's states, so a new handler without a row here fails. Each
privileged handler is called in process the way Reflex calls it: its state in a fresh state
tree whose router headers carry the tab's Cookie header.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
import reflex as rx
from reflex.state import State
from sqlmodel import func, select

from rl_arena_app.db.models import ApiToken, Submission
from rl_arena_app.db.session import session_scope
from rl_arena_app.services.accounts import logins, sessions, tokens, users
from rl_arena_app.services.admin import actions, audit
from rl_arena_app.services.submissions import intake
from rl_arena_app.services.submissions.agents import agent_view

PUBLIC = "anyone: page loads, form fields, the login check"
SUBMITTER = "a logged-in account, on its own things"
ADMIN = "an admin"
EXPECTED = {
    "Session.refresh": PUBLIC,
    "LoginState.open": PUBLIC,
    "MeState.open": PUBLIC,  # redirects to the login page without a session
    "MeState.set_env": PUBLIC,
    "MeState.set_agent_choice": PUBLIC,
    "MeState.set_new_name": PUBLIC,
    "MeState.set_progress": PUBLIC,
    "MeState.upload_rejected": PUBLIC,
    "MeState.set_token_name": PUBLIC,
    "MeState.set_token_admin": PUBLIC,
    "MeState.forget_token": PUBLIC,
    "MeState.upload": SUBMITTER,
    "MeState.retire": SUBMITTER,
    "MeState.create_token": SUBMITTER,
    "MeState.revoke_token": SUBMITTER,
    "AdminState.open": PUBLIC,
    "AdminState.set_env_target": PUBLIC,
    "AdminState.set_email_target": PUBLIC,
    "AdminState.perform": ADMIN,
    "AdminState.set_actor_filter": PUBLIC,
    "AdminState.set_action_filter": PUBLIC,
    "AdminState.set_outcome_filter": PUBLIC,
    "AdminState.next_page": PUBLIC,
    "AdminState.previous_page": PUBLIC,
    "OverviewState.open": PUBLIC,
    "EnvState.open": PUBLIC,
    "AgentState.open": PUBLIC,
    "AgentState.set_axis": PUBLIC,
    "MatchesState.open": PUBLIC,
    "MatchState.open": PUBLIC,
    "ValidationState.open": PUBLIC,
    "StatusState.open": PUBLIC,
    "EnvState.next_page": PUBLIC,
    "EnvState.previous_page": PUBLIC,
    "EnvState.set_search": PUBLIC,
    "EnvState.sort_by": PUBLIC,
    "MatchesState.clear_agent": PUBLIC,
    "MatchesState.next_page": PUBLIC,
    "MatchesState.previous_page": PUBLIC,
    "MatchesState.set_env": PUBLIC,
    "MatchesState.set_status": PUBLIC,
    "ReplayState.choose_game": PUBLIC,
    "ReplayState.next": PUBLIC,
    "ReplayState.play": PUBLIC,
    "ReplayState.previous": PUBLIC,
    "ReplayState.set_speed": PUBLIC,
    "ReplayState.set_step": PUBLIC,
    "ReplayState.show": PUBLIC,
}
AGENT = b"def act(observation, info):\n    return int(info['action_mask'].argmax())\n"


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


def test_every_handler_has_a_row_and_every_row_a_handler():
    handlers = app_handlers()
    assert sorted(set(handlers) - set(EXPECTED)) == [], "handlers without an authorization row"
    assert sorted(set(EXPECTED) - set(handlers)) == [], "rows without a handler"


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


@pytest.fixture
def people(platform):
    """Cookies of: nobody, the owner, another submitter, an admin; and the owner's things."""
    owner = logins.login("oidc", "o", "owner@example.org", True)
    other = logins.login("oidc", "x", "other@example.org", True)
    boss = users.set_admin(logins.login("oidc", "a", "boss@example.org", True).email, True)
    agent = intake.submit_upload(owner, env_id="tictactoe", name="bot", filename="agent.py",
                                 data=AGENT, enqueue=False)
    token = tokens.create_token(owner, "submit", "owned")
    return {
        "anonymous": None, "owner": sessions.start_session(owner.user_id),
        "other": sessions.start_session(other.user_id),
        "admin": sessions.start_session(boss.user_id),
        "agent_id": agent.agent_id, "token_id": tokens.list_tokens(owner)[0].token_id,
        "token": token, "accounts": {"owner": owner, "other": other, "admin": boss},
    }


def count(model) -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(model)).one()


@pytest.mark.parametrize("role,allowed", [("anonymous", False), ("owner", True),
                                          ("other", False), ("admin", True)])
def test_retire_needs_the_owner_or_an_admin(people, role, allowed):
    state = run("MeState.retire", people[role], people["agent_id"])
    assert (agent_view(people["agent_id"]).retired_at is not None) is allowed
    assert (state.action_error == "") is allowed


@pytest.mark.parametrize("role,allowed", [("anonymous", False), ("owner", True),
                                          ("other", False), ("admin", False)])
def test_a_token_is_revoked_by_its_owner_only(people, role, allowed):
    run("MeState.revoke_token", people[role], people["token_id"])
    assert (tokens.token_account(people["token"]) is None) is allowed


@pytest.mark.parametrize("role", ["anonymous", "owner", "other", "admin"])
def test_uploads_and_tokens_need_a_login_and_go_to_the_caller(people, role):
    before_tokens, before_subs = count(ApiToken), count(Submission)
    upload = rx.UploadFile(file=io.BytesIO(AGENT), path=Path("agent.py"))
    uploaded = run("MeState.upload", people[role], [upload], env_id="tictactoe",
                   agent_choice="bot")
    made = run("MeState.create_token", people[role], token_name="mine")
    admin_scope = run("MeState.create_token", people[role], token_admin=True)

    if role == "anonymous":
        assert (count(ApiToken), count(Submission)) == (before_tokens, before_subs)
        assert "log in" in uploaded.upload_error and made.new_token == ""
        return
    account = people["accounts"][role]
    assert tokens.token_account(made.new_token)[0] == account
    assert (admin_scope.new_token != "") is (role == "admin")
    with session_scope() as session:  # the new version is the caller's own "bot"
        newest = session.exec(select(Submission).order_by(Submission.id.desc())).first()
    assert agent_view(newest.agent_id).owner_id == account.user_id
    assert agent_view(people["agent_id"]).owner_id == people["accounts"]["owner"].user_id


@pytest.mark.parametrize("role", ["anonymous", "owner", "other", "admin"])
def test_every_admin_action_needs_an_admin_and_refusals_of_accounts_are_audited(people, role):
    for name, action in actions.ACTIONS.items():
        target = {"account": "other@example.org"}.get(action.target, "")
        fields = {"email_target": target, "env_target": "tictactoe"} if action.target else {}
        before = audit.recent(1)
        state = run("AdminState.perform", people[role], name, **fields)
        if role == "anonymous":  # refused, and not recorded: no login, nothing to flood the log
            assert state.result.startswith("Refused") and audit.recent(1) == before
            continue
        entry = audit.recent(1)[0]
        assert entry.action == name
        if role == "admin":
            assert entry.outcome in ("ok", "running", "failed"), entry
            assert not state.result.startswith("Refused"), state.result
        else:
            assert entry.outcome == "refused" and state.result.startswith("Refused")
