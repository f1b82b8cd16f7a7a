"""What the API tests share: a real uvicorn serving an app, people with tokens, agents, played
matches and upload archives (the fixtures built on them are in conftest.py)."""

from __future__ import annotations

import io
import socket
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from sqlalchemy import update
from sqlmodel import select

from rl_arena_app.arena.referee import GameRecord
from rl_arena_app.db.models import Match, MatchStatus, Submission, SubmissionStatus
from rl_arena_app.db.session import session_scope
from rl_arena_app.services.accounts import logins, tokens, users
from rl_arena_app.services.matches.play import record_result
from rl_arena_app.services.read_models import Account
from rl_arena_app.services.storage import store_replay
from rl_arena_app.services.submissions import intake
from rl_arena_app.settings import get_settings

AGENT = b"def act(observation, info):\n    return int(info['action_mask'].nonzero()[0][0])\n"
API = "/api/v1"


@contextmanager
def serving(app) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port, in a thread; yield its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    # proxy_headers off: the app sees the real peer, as under granian (`rl-arena web`), and
    # reads X-Forwarded-For itself, from the proxies it trusts.
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning",
                                           proxy_headers=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


@dataclass
class Person:
    """An account and its token (as ``Authorization`` headers)."""

    account: Account
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def person(email: str, *, admin: bool = False, scope: str = "submit") -> Person:
    """A logged-in person with a fresh token of ``scope``."""
    account = logins.login("oidc", f"sub-{email}", email, True, email.split("@")[0])
    if admin:
        account = users.set_admin(email, True)
    return Person(account, tokens.create_token(account, scope, "tests"))


def agent_of(someone: Person, name: str = "bot", env_id: str = "tictactoe") -> int:
    """A new agent of ``someone`` (its first version, not built); its id."""
    return intake.submit_upload(someone.account, env_id=env_id, name=name, filename="agent.py",
                                data=AGENT, enqueue=False).agent_id


def make_ready(*agent_ids: int) -> None:
    """Mark every version of these agents ready (as if built and validated)."""
    with session_scope() as session:
        session.exec(update(Submission).where(Submission.agent_id.in_(agent_ids))
                     .values(status=SubmissionStatus.READY))


def played_match(a_agent: int, b_agent: int) -> int:
    """A finished, rated match between the current versions of two agents (made ready), with a
    stored replay; its id."""
    make_ready(a_agent, b_agent)
    with session_scope() as session:
        a, b = (session.exec(select(Submission.id).where(Submission.agent_id == agent)
                             .order_by(Submission.version.desc())).first()
                for agent in (a_agent, b_agent))
        match = Match(env_id="tictactoe", seed=0, player_a_id=a, player_b_id=b,
                      status=MatchStatus.RUNNING)
        session.add(match)
        session.flush()
        match_id = match.id
    replay = store_replay(get_settings().data_dir, {"format": "test", "games": []})
    won = GameRecord(index=0, seed=0, seat_agents=[0, 1], agent_seeds=[0, 0], returns=[1.0, -1.0])
    assert record_result(match_id, [won], replay)
    return match_id


def zip_bytes(files: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    """A zip of ``files`` (and of symlinks: name -> target)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            archive.writestr(info, target)
    return buffer.getvalue()


def tgz_bytes(files: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    """A .tar.gz of ``files`` (and of symlinks: name -> target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()
