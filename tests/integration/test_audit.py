"""The audit log under abuse: refusals counted per actor instead of flooding it, only known
action names and clean text stored, refused logins naming who tried, paging and filters, and
one running long action per action and target.

On the real database (SQLite, or PostgreSQL when RL_ARENA_TEST_DATABASE_URL is set) and Redis;
logins against a real OpenID Connect provider on localhost.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from rl_arena_app.core.text import first_control_character
from rl_arena_app.db.migrate import upgrade
from rl_arena_app.db.models import AuditEntry
from rl_arena_app.db.session import engine_for, session_scope
from rl_arena_app.errors import BadInput, NotAllowed
from rl_arena_app.services.accounts import logins
from rl_arena_app.services.admin import actions, audit
from tests.support.api import API
from tests.support.handlers import run
from tests.support.login import authorize, provider_person, start
from tests.support.threads import in_parallel

THREADS = 10
PER_THREAD = 50


def mallory():
    return logins.login("oidc", "sub-mallory", "mallory@example.org", True, "Mallory")


def rows(**where) -> list[AuditEntry]:
    """The stored audit rows matching ``where`` (column=value), oldest first."""
    with session_scope() as session:
        query = select(AuditEntry).where(*(getattr(AuditEntry, k) == v for k, v in where.items()))
        return list(session.exec(query.order_by(AuditEntry.id)).all())


# ------------------------------------------------------------------------------ the flood


def test_a_burst_of_parallel_refusals_is_one_row_that_counts_every_one(platform):
    account = mallory()
    real = actions.perform(audit.CLI, "pause", "connect_four")

    def flood() -> None:
        for _ in range(PER_THREAD):
            with pytest.raises(NotAllowed):
                actions.perform(account, "grant-admin", account.email)

    _, errors = in_parallel(THREADS, lambda _k: flood())

    assert errors == []
    refused = rows(actor=account.email, outcome="refused")
    assert 1 <= len(refused) <= 2, "one row per window (a burst may straddle one boundary)"
    assert sum(r.count for r in refused) == THREADS * PER_THREAD, "no refusal lost"
    assert all(r.last_at >= r.at for r in refused)
    newest = audit.page(limit=5).entries
    assert real.entry_id in [e.entry_id for e in newest], "the real entry stays in sight"
    shown = next(e for e in newest if e.actor == account.email)
    assert shown.count >= 1 and shown.last_at is not None


def test_each_actor_action_and_window_of_refusals_has_its_own_row(platform):
    eve = logins.login("oidc", "sub-eve", "eve@example.org", True)
    for account in (mallory(), eve):
        for name, target in (("grant-admin", account.email), ("pause", "tictactoe")):
            for _ in range(3):
                with pytest.raises(NotAllowed):
                    actions.perform(account, name, target)
    assert sorted((r.actor, r.action, r.count) for r in rows(outcome="refused")) == [
        ("eve@example.org", "grant-admin", 3), ("eve@example.org", "pause", 3),
        ("mallory@example.org", "grant-admin", 3), ("mallory@example.org", "pause", 3)]

    with session_scope() as session:  # one window later: the row's window is over
        old = session.exec(select(AuditEntry).where(AuditEntry.actor == "eve@example.org",
                                                    AuditEntry.action == "pause")).one()
        old.window_start -= audit.REFUSAL_WINDOW
        session.add(old)
    with pytest.raises(NotAllowed):
        actions.perform(eve, "pause", "tictactoe")

    assert [r.count for r in rows(actor="eve@example.org", action="pause")] == [3, 1]
    for _ in range(2):  # what was done is never merged: each one is its own entry
        actions.perform(audit.CLI, "rebuild-leaderboard", "tictactoe")
    assert [r.count for r in rows(action="rebuild-leaderboard")] == [1, 1]


# ---------------------------------------------------------------------- what is stored


HOSTILE = "grant-admin\u202e\n<img src=x onerror=alert(1)>\x1b[31m"


def test_an_unknown_action_name_is_stored_under_one_name_with_its_text_cleaned(platform):
    account = mallory()
    for name in (HOSTILE, "format-disk", "x" * 5000, "login"):  # login: not an admin action
        with pytest.raises(BadInput, match="unknown admin action") as refused:
            actions.perform(account, name)
        assert first_control_character(str(refused.value)) is None
        assert len(str(refused.value)) < 1000

    stored = rows(actor=account.email)
    assert [(r.action, r.outcome, r.count) for r in stored] == [
        (audit.UNKNOWN_ACTION, "refused", 4)]
    assert "<img src=x onerror=alert(1)>" in stored[0].detail  # the first one's text, as text
    for stored_text in (stored[0].actor, stored[0].target, stored[0].detail):
        assert first_control_character(stored_text) is None


def test_every_admin_action_and_audited_service_action_is_a_known_name():
    assert set(actions.ACTIONS) | {"login", "retire-agent"} == audit.LOGGED_ACTIONS


def test_an_admin_action_runs_one_way_exactly():
    assert all((a.quick is None) != (a.worker is None) for a in actions.ACTIONS.values())
    for ways in ({}, {"quick": lambda target: "", "worker": lambda target, report, runner: ""}):
        with pytest.raises(TypeError, match="exactly one of quick and worker"):
            actions.Action("broken", "Broken", "", "Really?", **ways)


def test_targets_details_and_actors_are_cleaned_and_cut_to_their_columns(platform):
    with pytest.raises(BadInput, match=r"U\+202E") as typed:  # what a person types is checked
        actions.perform(audit.CLI, "grant-admin", "bob\u202e@example.org\n\x1b[2J")
    with pytest.raises(BadInput):
        actions.perform(audit.CLI, "revoke-admin", "<b>nobody</b>@example.org")
    unknown = audit.record(audit.CLI, "drop-tables", "t" * 500, outcome="ok",
                           detail="d\u2028" * 3000)
    odd_actor = audit.record("ghost\u202e\n" + "g" * 500, "login", "oidc", outcome="refused")

    assert first_control_character(str(typed.value)) is None
    refused = rows(action="grant-admin")[0]
    assert refused.target == "bob@example.org" and first_control_character(refused.detail) is None
    assert rows(action="revoke-admin")[0].target == "<b>nobody</b>@example.org"
    assert (unknown.action, len(unknown.target), len(unknown.detail)) == \
        (audit.UNKNOWN_ACTION, 200, 2000)
    assert unknown.detail.startswith("'drop-tables'") and "\u2028" not in unknown.detail
    assert odd_actor.actor.startswith("ghost g") and len(odd_actor.actor) == 320


def test_rows_stored_raw_before_the_fix_are_read_cleaned(platform):
    with session_scope() as session:
        session.add(AuditEntry(actor="anonymous", action="grant-admin\u202e\n", target="a\x1b[2Jb",
                               outcome="refused", detail="line\nbreak\u202e<b>"))

    entry = audit.recent(1)[0]

    assert (entry.action, entry.target, entry.detail) == \
        ("grant-admin ", "ab", "line break<b>")


def test_the_admin_page_handler_stores_a_websocket_action_name_cleaned(people):
    state = run("AdminState.perform", people["other"], HOSTILE)

    assert state.result.startswith("Refused") and first_control_character(state.result) is None
    entry = audit.recent(1)[0]
    assert (entry.actor, entry.action, entry.outcome) == \
        ("other@example.org", audit.UNKNOWN_ACTION, "refused")


# ---------------------------------------------------------------------------- logins


def test_a_refused_login_names_the_provider_and_identity_and_is_counted(login_client,
                                                                       issuer):
    subject = "mal\u202elory<b>"
    provider_person(issuer, subject, "Admin@Example.org", verified=False)
    for _ in range(3):
        refused = login_client.get(authorize(start(login_client), subject),
                                   follow_redirects=False)
        assert refused.status_code == 303

    stored = rows(action="login")
    assert len(stored) == 1 and stored[0].count == 3
    entry = stored[0]
    assert entry.actor == "oidc:mallory<b>" and entry.actor != audit.ANONYMOUS
    assert (entry.target, entry.outcome, entry.actor_id) == ("oidc", "refused", None)
    assert "Admin@Example.org" in entry.detail and "not verified" in entry.detail
    assert "did not confirm your email" in entry.detail


# ---------------------------------------------------------------- paging and filters


def test_the_api_pages_and_filters_the_log_newest_first(client, root, alice):
    for name in ("pause", "resume", "rebuild-leaderboard"):
        assert client.post(f"{API}/admin/envs/tictactoe/{name}", headers=root.auth).is_success
    assert client.post(f"{API}/admin/envs/tictactoe/pause",
                       headers=alice.auth).status_code == 403

    def log(**params) -> list[tuple[str, str, str]]:
        response = client.get(f"{API}/admin/audit", params=params, headers=root.auth)
        assert response.status_code == 200, response.text
        return [(e["actor"], e["action"], e["outcome"]) for e in response.json()]

    everything = log()
    assert everything == [("alice@example.org", "pause", "refused"),
                          ("root@example.org", "rebuild-leaderboard", "ok"),
                          ("root@example.org", "resume", "ok"),
                          ("root@example.org", "pause", "ok")]
    assert log(limit=2) == everything[:2] and log(offset=2, limit=2) == everything[2:]
    assert log(offset=4) == []
    assert log(actor="ALICE") == everything[:1]
    assert log(action="pause") == [everything[0], everything[3]]
    assert log(outcome="ok", action="pause") == everything[3:]
    assert log(outcome="refused", actor="root") == []

    for params, status, words in (({"outcome": "maybe"}, 400, "refused"),
                                  ({"action": "format-disk"}, 400, "rebuild-ratings"),
                                  ({"actor": "a\nb"}, 400, "U+000A"),
                                  ({"limit": 0}, 422, "limit"), ({"offset": -1}, 422, "offset"),
                                  ({"limit": 501}, 422, "limit")):
        response = client.get(f"{API}/admin/audit", params=params, headers=root.auth)
        assert response.status_code == status, (params, response.text)
        assert all(w in response.json()["reason"] for w in words.split()), response.text
    assert client.get(f"{API}/admin/audit", params={"outcome": "refused"},
                      headers=alice.auth).status_code == 403


def test_the_service_pages_count_the_whole_filtered_log(platform):
    for _ in range(7):
        actions.perform(audit.CLI, "rebuild-leaderboard", "")
    actions.perform(audit.CLI, "pause", "tictactoe")

    page = actions.audit_log(audit.CLI, action="rebuild-leaderboard", offset=5, limit=5)

    assert (page.total, page.offset, page.limit, len(page.entries)) == (7, 5, 5, 2)
    assert [e.entry_id for e in page.entries] == sorted((e.entry_id for e in page.entries),
                                                        reverse=True)
    with pytest.raises(NotAllowed):
        actions.audit_log(mallory())


# ------------------------------------------------------------ one running long action


def test_parallel_starts_of_one_long_action_run_it_once(platform):
    started, errors = in_parallel(
        THREADS, lambda _k: actions.perform(audit.CLI, "rebuild-ratings", "tictactoe"))

    assert len(started) == 1, f"started {len(started)} times"
    running = started[0]
    assert len(errors) == THREADS - 1
    for error in errors:
        assert isinstance(error, audit.AlreadyRunning), repr(error)
        assert error.entry.entry_id == running.entry_id
        assert f"audit entry {running.entry_id}" in str(error) and "already running" in str(error)
    assert [r.id for r in rows(outcome="running")] == [running.entry_id]

    beside = [actions.perform(audit.CLI, "rebuild-ratings", "connect_four"),
              actions.perform(audit.CLI, "rebuild-ratings", ""),
              actions.perform(audit.CLI, "refresh-bt", "tictactoe")]
    assert [e.outcome for e in beside] == ["running"] * 3

    assert actions.run_long(running.entry_id, None).outcome == "ok"
    again = actions.perform(audit.CLI, "rebuild-ratings", "tictactoe")
    assert again.outcome == "running" and again.entry_id > running.entry_id


def test_a_double_clicked_long_action_over_the_api_answers_409_naming_the_running_one(api_url,
                                                                                      root):
    url = f"{api_url}{API}/admin/envs/tictactoe/rebuild-ratings"
    answers, errors = in_parallel(4, lambda _k: httpx.post(url, headers=root.auth, timeout=30))

    assert errors == []
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [202, 409, 409, 409], [a.text for a in answers]
    started = next(a for a in answers if a.status_code == 202).json()
    for refused in (a for a in answers if a.status_code == 409):
        assert f"audit entry {started['entry_id']}" in refused.json()["reason"]
    assert len(rows(action="rebuild-ratings")) == 1


def test_the_admin_page_says_the_action_is_already_running(people):
    first = run("AdminState.perform", people["admin"], "rebuild-images")
    second = run("AdminState.perform", people["admin"], "rebuild-images")

    assert "started" in first.result and not first.failed
    entry = rows(action="rebuild-images")[0]
    assert second.result.startswith("Already running") and str(entry.id) in second.result
    assert len(rows(action="rebuild-images")) == 1


def test_the_migration_keeps_the_oldest_of_running_duplicates_and_stops_the_others(
        empty_database):
    from sqlalchemy import insert

    upgrade(empty_database, "0005")
    when = datetime.now(UTC)
    running = {"at": when, "actor": "cli", "outcome": "running", "detail": "queued"}
    with engine_for(empty_database).begin() as connection:
        connection.execute(insert(_old_audit_table()), [
            {**running, "action": "rebuild-ratings", "target": "tictactoe"},
            {**running, "action": "rebuild-ratings", "target": "tictactoe"},
            {**running, "action": "rebuild-ratings", "target": ""},
            {**running, "action": "refresh-bt", "target": "tictactoe"},
            {**running, "action": "rebuild-ratings", "target": "tictactoe"}])

    upgrade(empty_database)

    with engine_for(empty_database).connect() as connection:
        outcomes = connection.execute(text("SELECT outcome FROM audit_log ORDER BY id")).scalars()
        assert list(outcomes) == ["running", "failed", "running", "running", "failed"]


def _old_audit_table():
    """The audit log as revision 0005 made it."""
    from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table

    return Table("audit_log", MetaData(), Column("id", Integer, primary_key=True),
                 Column("at", DateTime(timezone=True)), Column("actor", String),
                 Column("action", String), Column("target", String), Column("outcome", String),
                 Column("detail", String))


def test_admin_events_reach_live_pages_but_never_push_results_out_of_the_feed(platform):
    from rl_arena_app.services import events

    events.publish("match_finished", env_id="tictactoe", match_id=1)
    for _ in range(5):
        with pytest.raises(NotAllowed):
            actions.perform(mallory(), "grant-admin", "mallory@example.org")
    entry = actions.perform(audit.CLI, "rebuild-ratings", "tictactoe")
    audit.progress(entry.entry_id, 0.5, "halfway")
    assert [e["kind"] for e in events.recent(50)] == ["match_finished"]
