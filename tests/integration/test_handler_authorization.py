"""Who may run each dashboard event handler: anonymous, the owner, another submitter, an admin.

The handlers are found in the app's states, so a new handler without a row here fails. Each
privileged handler is called in process the way Reflex calls it: its state in a fresh state
tree whose router headers carry the tab's Cookie header.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import reflex as rx
from sqlmodel import select

from rl_arena_app.db.models import ApiToken, Submission
from rl_arena_app.db.session import session_scope
from rl_arena_app.services.accounts import tokens
from rl_arena_app.services.admin import actions, audit
from rl_arena_app.services.submissions.agents import agent_view
from tests.support.agents import ARGMAX_AGENT
from tests.support.handlers import app_handlers, run
from tests.support.rows import count

PUBLIC = "anyone: page loads, form fields, the login check"
SUBMITTER = "a logged-in account, on its own things"
ADMIN = "an admin"
EXPECTED = {
    "Session.refresh": PUBLIC,
    "LoginState.open": PUBLIC,
    "MeState.open": PUBLIC,  # redirects to the login page without a session
    "UploadState.set_env": PUBLIC,
    "UploadState.set_agent_choice": PUBLIC,
    "UploadState.set_new_name": PUBLIC,
    "UploadState.set_algorithm": PUBLIC,  # form fields: checked when the upload is made
    "UploadState.set_description": PUBLIC,
    "UploadState.set_source_url": PUBLIC,
    "UploadState.set_progress": PUBLIC,
    "UploadState.upload_rejected": PUBLIC,
    "TokensState.set_token_name": PUBLIC,
    "TokensState.set_token_admin": PUBLIC,
    "TokensState.forget_token": PUBLIC,
    "UploadState.upload": SUBMITTER,
    "MeState.retire": SUBMITTER,
    "TokensState.create_token": SUBMITTER,
    "TokensState.revoke_token": SUBMITTER,
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
    "MatchState.start_rerun": ADMIN,
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


def test_every_handler_has_a_row_and_every_row_a_handler():
    handlers = app_handlers()
    assert sorted(set(handlers) - set(EXPECTED)) == [], "handlers without an authorization row"
    assert sorted(set(EXPECTED) - set(handlers)) == [], "rows without a handler"


@pytest.mark.parametrize("role,allowed", [("anonymous", False), ("owner", True),
                                          ("other", False), ("admin", True)])
def test_retire_needs_the_owner_or_an_admin(people, role, allowed):
    state = run("MeState.retire", people[role], people["agent_id"])
    assert (agent_view(people["agent_id"]).retired_at is not None) is allowed
    assert (state.action_error == "") is allowed


@pytest.mark.parametrize("role,allowed", [("anonymous", False), ("owner", True),
                                          ("other", False), ("admin", False)])
def test_a_token_is_revoked_by_its_owner_only(people, role, allowed):
    run("TokensState.revoke_token", people[role], people["token_id"])
    assert (tokens.token_account(people["token"]) is None) is allowed


@pytest.mark.parametrize("role", ["anonymous", "owner", "other", "admin"])
def test_uploads_and_tokens_need_a_login_and_go_to_the_caller(people, role):
    before_tokens, before_subs = count(ApiToken), count(Submission)
    upload = rx.UploadFile(file=io.BytesIO(ARGMAX_AGENT), path=Path("agent.py"))
    uploaded = run("UploadState.upload", people[role], [upload], env_id="tictactoe",
                   agent_choice="bot")
    made = run("TokensState.create_token", people[role], token_name="mine")
    admin_scope = run("TokensState.create_token", people[role], token_admin=True)

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
        if action.target == "match":  # started from the match page (test_match_rerun.py)
            continue
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
