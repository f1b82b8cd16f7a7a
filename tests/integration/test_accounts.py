"""Accounts, sessions, API tokens, submitter limits, retiring and audited admin actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq import SimpleWorker
from sqlalchemy import update
from sqlmodel import select

from rl_arena_app.broker import BUILDS, get_queue, get_redis
from rl_arena_app.db.models import (
    Match,
    MatchStatus,
    Submission,
    SubmissionStatus,
    User,
    WebSession,
    utcnow,
)
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import (
    BadInput,
    Conflict,
    LimitExceeded,
    NotAllowed,
    NotFound,
    NotSignedIn,
    http_status,
)
from rl_arena_app.services.accounts import logins, sessions, tokens, users
from rl_arena_app.services.admin import actions, audit
from rl_arena_app.services.environments import env_ids
from rl_arena_app.services.submissions import intake, quotas
from rl_arena_app.services.submissions.agents import agent_view, my_agents, retire_agent
from rl_arena_app.settings import get_settings
from tests.support.agents import AGENT
from tests.support.threads import in_parallel


def alice():
    return logins.login("oidc", "sub-alice", "Alice@Example.org", True, "Alice")


def upload(account, name="bot", env_id="tictactoe", data=AGENT):
    return intake.submit_upload(account, env_id=env_id, name=name, filename="agent.py",
                                data=data, enqueue=False)


# ---------------------------------------------------------------------------------- logins


def test_a_verified_login_joins_the_account_an_operator_made_for_that_email(platform, tmp_path):
    path = tmp_path / "agent.py"
    path.write_bytes(AGENT)
    made = intake.submit(str(path), env_id="tictactoe", name="ops-made",
                         owner_email="alice@example.org", enqueue=False)

    account = alice()
    again = logins.login("github", "12345", "alice@example.org", True, None)

    assert account.user_id == again.user_id
    assert [a.agent_id for a in my_agents(account)] == [made.agent_id]
    assert logins.login("oidc", "sub-alice", "alice@example.org", True).user_id == \
        account.user_id


@pytest.mark.parametrize("email,verified", [(None, True), ("bob@example.org", False)])
def test_a_login_without_a_verified_email_is_refused_and_makes_nothing(platform, email,
                                                                       verified):
    with pytest.raises(logins.LoginRefused, match="confirm your email"):
        logins.login("github", "999", email, verified)
    with session_scope() as session:
        assert session.exec(select(User)).all() == []


def test_admin_emails_make_admins_at_login_and_names_are_made_printable(platform, monkeypatch):
    monkeypatch.setenv("RL_ARENA_ADMIN_EMAILS", "root@example.org, Boss@Example.org")
    get_settings.cache_clear()

    boss = logins.login("google", "g1", "boss@example.org", True, "Bo\x1bss\n<b>")
    plain = logins.login("google", "g2", "worker@example.org", True, "\x07")

    assert boss.is_admin and not plain.is_admin
    assert boss.name == "boss"  # a control character: the name is not shown
    assert plain.name == "worker"


def test_an_admin_named_by_the_settings_cannot_be_removed_by_an_action(platform, monkeypatch):
    monkeypatch.setenv("RL_ARENA_ADMIN_EMAILS", "boss@example.org")
    get_settings.cache_clear()
    logins.login("google", "g1", "boss@example.org", True, "Boss")

    entry = actions.perform(audit.CLI, "revoke-admin", "boss@example.org")

    assert entry.outcome == "failed" and "RL_ARENA_ADMIN_EMAILS" in entry.detail
    assert users.account_by_email("boss@example.org").is_admin


def test_parallel_first_logins_of_one_person_make_one_account(platform):
    seen, errors = in_parallel(6, lambda k: logins.login(
        "github" if k % 2 else "oidc", f"s{k % 2}", "race@example.org", True).user_id)

    assert errors == [] and len(set(seen)) == 1


# -------------------------------------------------------------------------------- sessions


def test_a_session_cookie_is_refused_when_tampered_ended_expired_or_revoked(platform):
    account = alice()
    cookie = sessions.start_session(account.user_id)
    assert sessions.session_account(cookie) == account

    token, _, signature = cookie.partition(".")
    assert sessions.session_account(token + "x." + signature) is None
    assert sessions.session_account(cookie[:-2] + ("AA" if cookie[-2:] != "AA" else "BB")) is None
    assert sessions.session_account("") is None and sessions.session_account(None) is None

    other = sessions.start_session(account.user_id)
    sessions.end_session(cookie)
    assert sessions.session_account(cookie) is None
    assert sessions.session_account(other) == account

    with session_scope() as session:
        session.exec(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert sessions.session_account(other) is None

    third = sessions.start_session(account.user_id)
    assert sessions.revoke_user_sessions(account.user_id) == 1
    assert sessions.session_account(third) is None


def test_a_cookie_signed_with_another_secret_is_refused(platform, monkeypatch):
    cookie = sessions.start_session(alice().user_id)
    monkeypatch.setenv("RL_ARENA_SECRET_KEY", "another-secret-" + "x" * 32)
    get_settings.cache_clear()
    assert sessions.session_account(cookie) is None


# ---------------------------------------------------------------------------------- tokens


def test_tokens_are_shown_once_stored_hashed_and_die_when_revoked(platform):
    account = alice()
    token = tokens.create_token(account, "submit", "laptop")

    assert token.startswith("rla_") and tokens.token_account(token) == (account, "submit")
    [view] = tokens.list_tokens(account)
    assert view.name == "laptop" and token not in repr(view) and view.last_used_at is not None
    tokens.token_account(token)  # a busy token is not a database write per request
    assert tokens.list_tokens(account)[0].last_used_at == view.last_used_at
    assert tokens.token_account(token + "x") is None
    assert tokens.token_account("Bearer " + token) is None

    bob = logins.login("oidc", "sub-bob", "bob@example.org", True)
    with pytest.raises(NotFound):
        tokens.revoke_token(bob, view.token_id)  # not his: as if it did not exist
    tokens.revoke_token(account, view.token_id)
    assert tokens.token_account(token) is None


def test_an_admin_token_needs_an_admin_and_dies_with_the_admin_rights(platform):
    account = alice()
    with pytest.raises(BadInput, match="not an admin"):
        tokens.create_token(account, "admin")
    admin = users.set_admin(account.email, True)
    token = tokens.create_token(admin, "admin")
    assert tokens.token_account(token)[1] == "admin"

    users.set_admin(account.email, False)
    assert tokens.token_account(token) is None


@pytest.mark.parametrize("name", ["a\x00b", "tab\u202eevil"])
def test_a_token_name_must_be_printable(platform, name):
    with pytest.raises(BadInput, match="printable"):
        tokens.create_token(alice(), "submit", name)


# ---------------------------------------------------------------------------------- limits


def test_the_daily_limit_says_when_it_resets_and_the_race_cannot_pass_it(platform, monkeypatch):
    monkeypatch.setenv("RL_ARENA_DAILY_SUBMISSIONS", "3")
    get_settings.cache_clear()
    account = alice()
    _, errors = in_parallel(6, lambda k: upload(account, data=AGENT + f"# {k}\n".encode()))

    assert len(errors) == 3 and all(isinstance(e, LimitExceeded) for e in errors)
    assert "after 00:00 UTC" in str(errors[0]) and http_status(errors[0]) == 429
    assert errors[0].resets_at > utcnow()
    with session_scope() as session:
        assert len(session.exec(select(Submission)).all()) == 3
    upload(account, env_id="connect_four")  # the limit is per environment


def test_an_upload_past_a_limit_is_refused_before_it_is_stored(platform, monkeypatch):
    monkeypatch.setenv("RL_ARENA_DAILY_SUBMISSIONS", "1")
    get_settings.cache_clear()
    account = alice()
    upload(account)
    stored = sorted(get_settings().artifacts_dir.rglob("*"))

    with pytest.raises(LimitExceeded, match="daily limit"):
        upload(account, data=AGENT + b"# another version\n")

    assert sorted(get_settings().artifacts_dir.rglob("*")) == stored


def test_the_quotas_of_every_env_at_once_agree_with_each_envs(platform):
    account = alice()
    upload(account)
    upload(account, name="other")
    upload(account, env_id="connect_four")

    daily, active = quotas.account_quotas(account)

    assert daily == {env_id: quotas.quotas(account, env_id)[0] for env_id in env_ids()}
    assert (daily["tictactoe"].used, daily["connect_four"].used, active.used) == (2, 1, 3)


def test_the_active_agent_limit_frees_up_when_an_agent_is_retired(platform, monkeypatch):
    monkeypatch.setenv("RL_ARENA_ACTIVE_AGENTS", "2")
    get_settings.cache_clear()
    account = alice()
    first = upload(account, "one")
    upload(account, "two")
    with pytest.raises(LimitExceeded, match="retire one"):
        upload(account, "three")
    upload(account, "two")  # a new version of an agent is not a new agent

    retire_agent(account, first.agent_id)
    upload(account, "three")
    with pytest.raises(LimitExceeded):
        upload(account, "one")  # bringing a retired agent back takes a slot again


# --------------------------------------------------------------------------------- retiring


def test_only_the_owner_or_an_admin_retires_an_agent(platform):
    owner = alice()
    agent_id = upload(owner).agent_id
    mallory = logins.login("oidc", "sub-m", "mallory@example.org", True)

    with pytest.raises(NotSignedIn):
        retire_agent(None, agent_id)
    with pytest.raises(NotAllowed):
        retire_agent(mallory, agent_id)
    with pytest.raises(NotFound):
        retire_agent(owner, agent_id + 100)
    assert agent_view(agent_id).retired_at is None

    boss = users.set_admin(mallory.email, True)
    retire_agent(boss, agent_id)
    assert agent_view(agent_id).retired_at is not None
    entry = audit.recent(1)[0]
    assert (entry.actor, entry.action, entry.target) == \
        ("mallory@example.org", "retire-agent", f"bot ({agent_id}) in tictactoe")
    with pytest.raises(Conflict):
        retire_agent(owner, agent_id)


def test_the_house_cannot_upload_or_become_an_admin(platform):
    from rl_arena_app.services.accounts.users import house_email
    from rl_arena_app.services.bootstrap import seed_house_agents

    seed_house_agents(enqueue=False)
    house = users.account_by_email(house_email())
    with pytest.raises(NotAllowed):
        upload(house)
    with pytest.raises(BadInput, match="house"):
        users.set_admin(house.email, True)


# --------------------------------------------------------------------------- admin actions


def test_a_non_admin_is_refused_every_action_and_the_refusal_is_audited(platform):
    account = alice()
    for name, action in actions.ACTIONS.items():
        target = {"": "", "account": account.email}.get(action.target, "tictactoe")
        with pytest.raises(NotAllowed):
            actions.perform(account, name, target)
        with pytest.raises(NotSignedIn):  # no account: refused, and nothing to flood the log
            actions.perform(None, name, target)
    entries = audit.recent(100)
    assert len(entries) == len(actions.ACTIONS)
    assert {(e.actor, e.outcome) for e in entries} == {(account.email, "refused")}


@pytest.mark.parametrize("name,target,message", [
    ("pause", "CartPole-v1", "solo environment"),
    ("pause", "", "needs an environment"),
    ("pause", "chess", "unknown"),
    ("requeue-failed", "tictactoe", "whole arena"),
    ("grant-admin", "nobody@example.org", "no account"),
    ("format-disk", "", "unknown admin action"),
])
def test_a_bad_target_is_refused_with_what_to_give(platform, name, target, message):
    with pytest.raises(BadInput, match=message):
        actions.perform(audit.CLI, name, target)
    assert audit.recent(1)[0].outcome == "refused"


def test_quick_actions_take_effect_and_are_audited(platform):
    from rl_arena_app.services.admin.env_switches import env_enabled

    account = alice()
    cookie = sessions.start_session(account.user_id)
    token = tokens.create_token(account)
    boss = users.set_admin(logins.login("oidc", "b", "boss@example.org", True).email, True)

    actions.perform(boss, "disable", "connect_four")
    assert not env_enabled("connect_four")
    with pytest.raises(BadInput, match="disabled"):
        upload(account, env_id="connect_four")
    actions.perform(boss, "enable", "connect_four")
    assert env_enabled("connect_four")

    done = actions.perform(boss, "revoke-sessions", account.email)
    assert "ended 1 sessions and revoked 1 API tokens" in done.detail
    assert sessions.session_account(cookie) is None and tokens.token_account(token) is None

    actions.perform(boss, "grant-admin", account.email)
    assert users.account_by_email(account.email).is_admin
    assert [(e.actor, e.action, e.outcome) for e in audit.recent(3)] == [
        (boss.email, "grant-admin", "ok"), (boss.email, "revoke-sessions", "ok"),
        (boss.email, "enable", "ok")]


def test_requeue_failed_gives_failed_matches_and_platform_failed_builds_another_try(platform):
    from rl_arena_app.services.submissions.builds import PLATFORM_FAULT

    account = alice()
    a, b = upload(account, "a"), upload(account, "b")
    with session_scope() as session:
        session.add(Match(env_id="tictactoe", seed=0, player_a_id=a.id, player_b_id=b.id,
                          status=MatchStatus.FAILED, attempts=3, error="deadline passed"))
        session.exec(update(Submission).where(Submission.id == a.id).values(
            status=SubmissionStatus.FAILED, reason=f"{PLATFORM_FAULT} (not your agent's fault)"))
        session.exec(update(Submission).where(Submission.id == b.id).values(
            status=SubmissionStatus.FAILED, reason="validation game 1: crash"))

    done = actions.perform(audit.CLI, "requeue-failed")

    assert done.detail == "queued 1 failed matches and 1 builds again"
    with session_scope() as session:
        match = session.exec(select(Match)).one()
        assert (match.status, match.attempts, match.error) == (MatchStatus.QUEUED, 3, None)
        assert session.get(Submission, a.id).status == SubmissionStatus.QUEUED
        assert session.get(Submission, b.id).status == SubmissionStatus.FAILED
    assert len(get_queue("matches")) == 1 and len(get_queue(BUILDS)) == 1


def test_a_long_action_runs_in_a_worker_and_reports_progress(platform, monkeypatch):
    from rl_arena_app.arena.referee import GameRecord
    from rl_arena_app.services.matches.play import record_result

    monkeypatch.setenv("RL_ARENA_SANDBOX", "inprocess")
    get_settings.cache_clear()
    account = alice()
    a, b = upload(account, "a"), upload(account, "b")
    with session_scope() as session:
        session.exec(update(Submission).values(status=SubmissionStatus.READY))
        match = Match(env_id="tictactoe", seed=0, player_a_id=a.id, player_b_id=b.id,
                      status=MatchStatus.RUNNING)
        session.add(match)
        session.flush()
        match_id = match.id
    won = GameRecord(index=0, seed=0, seat_agents=[0, 1], agent_seeds=[0, 0], returns=[1.0, -1.0])
    assert record_result(match_id, [won], None)
    with session_scope() as session:  # ratings drift away from the games (e.g. a bad edit)
        session.exec(update(Submission).values(rating=1000.0))

    entry = actions.perform(audit.CLI, "rebuild-ratings", "tictactoe")
    assert entry.outcome == "running"
    SimpleWorker([get_queue(BUILDS)], connection=get_redis()).work(burst=True)

    done = audit.entry(entry.entry_id)
    assert (done.outcome, done.progress) == ("ok", 1.0), done.detail
    assert done.detail == "rebuilt tictactoe from 1 games"
    with session_scope() as session:
        ratings = {s.id: s.rating for s in session.exec(select(Submission)).all()}
    assert ratings[a.id] > 1500 > ratings[b.id]
    assert actions.run_long(entry.entry_id, None).outcome == "ok"  # a re-run: no-op


def test_a_long_action_whose_job_was_lost_is_enqueued_again_and_finishes(platform):
    entry = actions.perform(audit.CLI, "refresh-bt", "tictactoe")
    get_redis().flushall()  # the job is gone, as after a Redis flush or a lost worker

    assert actions.requeue_running() == [entry.entry_id]
    assert actions.requeue_running() == [], "its job is pending again: not twice"
    SimpleWorker([get_queue(BUILDS)], connection=get_redis()).work(burst=True)

    assert audit.entry(entry.entry_id).outcome == "ok"
    assert actions.requeue_running() == []
