"""Terminal injection: an agent's escape sequences never reach a terminal, a page, a stored row
or a replay.

The hostile agent (tests/agents/hostile/terminal_escapes.py) writes a window title, clear
screen and colours to stderr, then crashes with colours, a hyperlink, a right-to-left override,
a C1 control, a carriage return and a NUL in its exception text. It is played for real (the
process sandbox), submitted through the API, played in a match; and rows stored before the
text was cleaned on its way in are shown clean too.
"""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path

from sqlmodel import select

from jobs.tasks import configured_runner
from rl_arena_app.arena.replay import read_replay
from rl_arena_app.db.models import (
    Agent,
    Game,
    Match,
    MatchStatus,
    Submission,
    SubmissionEvent,
    SubmissionStatus,
    User,
)
from rl_arena_app.db.session import session_scope
from rl_arena_app.services import feed
from rl_arena_app.services.matches import play, views
from rl_arena_app.services.matches.replays import match_replay, validation_replay
from rl_arena_app.services.storage import store_bundle
from rl_arena_app.services.submissions import agents, builds
from tests.support import processes
from tests.support.agents import builtin, bundle_from_source

HOSTILE = Path(__file__).parents[1] / "agents" / "hostile" / "terminal_escapes.py"
# What a terminal or a browser would obey, and what is left of a sequence when only ESC goes.
FORBIDDEN = ("\x1b", "\x07", "\x9b", "\x00", "\r", "\u202e", "\u202c")
LEFTOVERS = ("[31m", "[0m", "[2J", "]0;", "]8;;", "PWNED", "evil.example")
# What a person needs to read stays.
READABLE = ("boom", "coloured", "hyperlink", "txt.exe", "cleared", "carriage", "byte end")
DIRTY = ("crash \x1b[31mred\x1b[0m \x1b]0;PWNED\x07title \x1b]8;;https://evil.example/\x1b\\"
         "link\x1b]8;;\x1b\\ \u202etxt.exe\u202c cr\rnul\x00 \x9b2J end")
DIRTY_READABLE = ("crash", "red", "title", "link", "txt.exe", "end")


def rl_arena(*args: str) -> subprocess.CompletedProcess:
    """`rl-arena ARGS` as its own process, on a terminal wide enough for whole lines."""
    return processes.rl_arena(*args, env={"COLUMNS": "400"})


def assert_clean(text: str | None, readable: tuple[str, ...] = ()) -> None:
    """No escape, control or bidi character (nor what is left of a sequence) in ``text``; the
    readable words stay."""
    assert text is not None
    for bad in (*FORBIDDEN, *LEFTOVERS):
        assert bad not in text, f"{bad!r} in {text!r}"
    for word in readable:
        assert word in text, f"{word!r} missing from {text!r}"


def assert_printed_clean(done: subprocess.CompletedProcess, readable: tuple[str, ...]) -> None:
    assert done.returncode == 0, done.stderr
    assert_clean(done.stdout, readable)
    assert_clean(done.stderr)


# ------------------------------------------------------------------------ played for real


def test_play_prints_and_records_the_crash_without_its_escapes(tmp_path):
    replay_path = tmp_path / "replay.json.gz"
    shown = rl_arena("play", "tictactoe", str(HOSTILE), "builtin:random", "--sandbox",
                     "process", "--games", "1", "--replay", str(replay_path))
    as_json = rl_arena("play", "tictactoe", str(HOSTILE), "builtin:random", "--sandbox",
                       "process", "--games", "1", "--json")

    assert_printed_clean(shown, ("forfeits (crash)", "RuntimeError: boom", *READABLE))
    assert_printed_clean(as_json, ())
    detail = json.loads(as_json.stdout)["games"][0]["forfeit"]["detail"]
    assert_clean(detail, (*READABLE, "stderr-tail"))  # the agent's output tail stays readable
    assert_clean(read_replay(replay_path)["games"][0]["forfeit"]["detail"], READABLE)


def test_a_submission_of_it_is_stored_served_and_printed_clean(process_sandbox, client, alice):
    posted = client.post("/api/v1/submissions", headers=alice.auth,
                         data={"env": "tictactoe", "name": "escapes"},
                         files={"file": ("agent.py", HOSTILE.read_bytes())})
    assert posted.status_code == 201, posted.text
    submission_id = posted.json()["version"]["submission_id"]

    builds.build_and_validate(submission_id, configured_runner())

    with session_scope() as session:
        stored = session.get(Submission, submission_id)
        event_reasons = session.exec(select(SubmissionEvent.reason).where(
            SubmissionEvent.submission_id == submission_id)).all()
    assert stored.status == SubmissionStatus.FAILED
    assert_clean(stored.reason, ("validation game 1: crash", "RuntimeError: boom", "carriage"))
    assert_clean(stored.log_tail, (*READABLE, "stderr-tail"))
    assert all(reason is None or "\x1b" not in reason for reason in event_reasons)
    replay = json.loads(gzip.decompress(
        (process_sandbox.data_dir / stored.validation_replay).read_bytes()))
    assert_clean(replay["games"][0]["forfeit"]["detail"], READABLE)

    served = client.get(f"/api/v1/submissions/{submission_id}").json()["version"]
    assert_clean(served["reason"], ("RuntimeError: boom",))
    assert_clean(served["log_tail"], READABLE)
    assert_clean(json.dumps(feed.recent_feed(), default=str, ensure_ascii=False),
                 ("escapes v1 failed",))
    assert_printed_clean(rl_arena("agent", "show", str(submission_id)),
                         ("RuntimeError: boom", "log tail:", *READABLE))
    assert_printed_clean(rl_arena("agent", "list"), ("escapes v1", "failed", "RuntimeError"))


def ready_submission(owner: str, name: str, source: str | None = None) -> int:
    """A ready tictactoe submission of ``source`` (builtin:random when None); its id."""
    bundle = builtin("random", "tictactoe") if source is None else bundle_from_source(source)
    digest = store_bundle(bundle)
    with session_scope() as session:
        user = User(email=owner, name=owner.split("@")[0])
        session.add(user)
        session.flush()
        agent = Agent(owner_id=user.id, env_id="tictactoe", name=name)
        session.add(agent)
        session.flush()
        sub = Submission(agent_id=agent.id, env_id="tictactoe", artifact_sha256=digest,
                         artifact_name="agent.py", status=SubmissionStatus.READY)
        session.add(sub)
        session.flush()
        return sub.id


def test_a_match_it_plays_is_stored_and_shown_clean(process_sandbox):
    hostile = ready_submission("eve@example.org", "escapes", HOSTILE.read_text())
    other = ready_submission("bob@example.org", "random")
    with session_scope() as session:
        match = Match(env_id="tictactoe", seed=3, player_a_id=hostile, player_b_id=other,
                      status=MatchStatus.QUEUED)
        session.add(match)
        session.flush()
        match_id = match.id

    assert play.play_match(match_id, configured_runner()) is True

    with session_scope() as session:
        details = session.exec(select(Game.forfeit_detail).where(Game.match_id == match_id)).all()
        replay_file = process_sandbox.data_dir / session.get(Match, match_id).replay_path
    assert details and all(d is not None for d in details)
    for detail in details:
        assert_clean(detail, READABLE)
    for game in read_replay(replay_file)["games"]:
        assert_clean(game["forfeit"]["detail"], READABLE)
    for game in views.match_detail(match_id).games:
        assert_clean(game.forfeit_detail, READABLE)
    for game in match_replay(match_id).games:
        assert_clean(game.forfeit_detail, READABLE)


# ------------------------------------------------------------- rows stored before the fix


def test_rows_stored_before_the_fix_are_shown_clean(platform, tmp_path):
    """Text stored raw by an older version is cleaned by the read models and the CLI."""
    hostile = ready_submission("eve@example.org", "escapes")
    other = ready_submission("bob@example.org", "random")
    replay = {"format": "rl-arena-replay", "format_version": 1, "kind": "duel",
              "env": "tictactoe", "env_version": "v", "seed": 1, "sandbox": "process",
              "agents": [{"ref": f"submission:{hostile}", "image": None},
                         {"ref": DIRTY, "image": None}],
              "games": [{"index": 0, "seed": 1, "seat_agents": [0, 1], "agent_seeds": [1, 2],
                         "returns": [], "winner": 1, "truncated": False, "duration_s": 0.1,
                         "initial_state": None, "steps": [],
                         "forfeit": {"agent": 0, "reason": "crash", "detail": DIRTY}}]}
    # PostgreSQL stores no NUL in text (an older version's rows cannot hold one there).
    row = DIRTY if platform.db_url.startswith("sqlite") else DIRTY.replace("\x00", "")
    replays = platform.data_dir / "replays"
    replays.mkdir(parents=True, exist_ok=True)
    (replays / "old.json.gz").write_bytes(gzip.compress(json.dumps(replay).encode()))
    with session_scope() as session:
        session.get(User, 1).name = f"eve {row}"
        sub = session.get(Submission, hostile)
        sub.status, sub.reason, sub.log_tail = SubmissionStatus.FAILED, row, f"{row}\n{row}"
        sub.validation_replay = "replays/old.json.gz"
        session.add(SubmissionEvent(submission_id=hostile, status="failed", reason=row))
        match = Match(env_id="tictactoe", seed=1, player_a_id=hostile, player_b_id=other,
                      status=MatchStatus.FINISHED, error=row, points_a=0, points_b=1,
                      replay_path="replays/old.json.gz")
        session.add(match)
        session.flush()
        session.add(Game(match_id=match.id, index=0, env_id="tictactoe", player_a_id=hostile,
                         player_b_id=other, first=0, outcome="forfeit", score_a=0.0,
                         forfeit_player=0, forfeit_reason="crash", forfeit_detail=row))
        match_id, agent_id = match.id, sub.agent_id

    version = agents.submission_view(hostile).version
    for text in (version.reason, version.log_tail, version.timeline[-1].reason):
        assert_clean(text, DIRTY_READABLE)
    assert "\n" in version.log_tail, "a log tail keeps its lines"
    view = agents.agent_view(agent_id)
    assert_clean(view.owner_name, DIRTY_READABLE)
    assert_clean(view.versions[0].reason, DIRTY_READABLE)
    detail = views.match_detail(match_id)
    assert_clean(detail.summary.error, DIRTY_READABLE)
    assert_clean(detail.summary.a.agent.owner_name, DIRTY_READABLE)
    assert_clean(detail.games[0].forfeit_detail, DIRTY_READABLE)
    for shown in (match_replay(match_id), validation_replay(hostile)):
        assert_clean(shown.games[0].forfeit_detail, DIRTY_READABLE)
        assert_clean(" ".join(shown.agents))
    line = feed.feed_item({"kind": "submission_status", "status": "failed", "name": DIRTY,
                           "version": 1, "env_id": "tictactoe", "agent_id": agent_id,
                           "reason": DIRTY})
    assert line is not None
    assert_clean(line.text, DIRTY_READABLE)
    match_line = feed.feed_item({"kind": "match_finished", "name_a": DIRTY, "version_a": 1,
                                 "name_b": "b", "version_b": 1, "points_a": 0, "points_b": 1,
                                 "env": "tictactoe", "match_id": match_id, "agent_a": 1,
                                 "agent_b": 2})
    assert match_line is not None
    assert_clean(match_line.text, DIRTY_READABLE)

    assert_printed_clean(rl_arena("agent", "show", str(hostile)), DIRTY_READABLE)
    assert_printed_clean(rl_arena("agent", "list"), ("crash", "red", "txt.exe"))
