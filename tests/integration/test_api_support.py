"""What the API tests share: a real uvicorn serving create_api(), people with tokens, uploads.

Also the API's manners inside the dashboard's server: Reflex mounts its backend behind the API
(at "", after the API's routes), so the API must leave every other path alone.
"""

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

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from rl_arena_app.api.app import create_api
from rl_arena_app.services import accounts, tokens
from rl_arena_app.services import submit as intake
from rl_arena_app.services.read_models import Account

AGENT = b"def act(observation, info):\n    return int(info['action_mask'].nonzero()[0][0])\n"
API = "/api/v1"


@contextmanager
def serving(app) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port, in a thread; yield its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
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


@pytest.fixture(name="api_url")
def api_url_fixture(platform) -> Iterator[str]:
    """The API of the test's platform, served for real."""
    with serving(create_api()) as url:
        yield url


@pytest.fixture(name="client")
def client_fixture(api_url) -> Iterator[httpx.Client]:
    """An HTTP client of the served API."""
    with httpx.Client(base_url=api_url, timeout=30) as http:
        yield http


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
    account = accounts.login("oidc", f"sub-{email}", email, True, email.split("@")[0])
    if admin:
        account = accounts.set_admin(email, True)
    return Person(account, tokens.create_token(account, scope, "tests"))


@pytest.fixture(name="alice")
def alice_fixture(platform) -> Person:
    return person("alice@example.org")


@pytest.fixture(name="bob")
def bob_fixture(platform) -> Person:
    return person("bob@example.org")


@pytest.fixture(name="root")
def root_fixture(platform) -> Person:
    return person("root@example.org", admin=True, scope="admin")


def agent_of(someone: Person, name: str = "bot", env_id: str = "tictactoe") -> int:
    """A new agent of ``someone`` (its first version, not built); its id."""
    return intake.submit_upload(someone.account, env_id=env_id, name=name, filename="agent.py",
                                data=AGENT, enqueue=False).agent_id


def make_ready(*agent_ids: int) -> None:
    """Mark every version of these agents ready (as if built and validated)."""
    from sqlalchemy import update

    from rl_arena_app.db.models import Submission, SubmissionStatus
    from rl_arena_app.db.session import session_scope

    with session_scope() as session:
        session.exec(update(Submission).where(Submission.agent_id.in_(agent_ids))
                     .values(status=SubmissionStatus.READY))


def played_match(a_agent: int, b_agent: int) -> int:
    """A finished, rated match between the current versions of two agents (made ready), with a
    stored replay; its id."""
    from sqlmodel import select

    from rl_arena_app.arena.referee import GameRecord
    from rl_arena_app.db.models import Match, MatchStatus, Submission
    from rl_arena_app.db.session import session_scope
    from rl_arena_app.services.artifacts import store_replay
    from rl_arena_app.services.matches import record_result
    from rl_arena_app.settings import get_settings

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


# ------------------------------------------------------------- inside the dashboard's server


def dashboard_stand_in() -> Starlette:
    """What Reflex mounts behind the API: answers every path, echoing the body's size."""

    async def echo(request: Request) -> PlainTextResponse:
        body = await request.body()
        return PlainTextResponse(f"dashboard {request.url.path} {len(body)}")

    return Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST"])])


@pytest.fixture(name="mounted_url")
def mounted_url_fixture(platform) -> Iterator[str]:
    """The API with a dashboard mounted behind it, as Reflex's api_transformer does."""
    api = create_api()
    api.mount("", dashboard_stand_in())
    with serving(api) as url:
        yield url


def test_paths_outside_the_api_reach_the_dashboard_untouched(mounted_url, platform):
    big = b"x" * (platform.max_upload_mb * 1024 * 1024 + 1024 * 1024)
    with httpx.Client(base_url=mounted_url, timeout=60) as http:
        page = http.get("/envs/tictactoe")
        upload = http.post("/_upload", content=big)
        unknown_api = http.get(f"{API}/no-such-thing")

    assert (page.status_code, page.text) == (200, "dashboard /envs/tictactoe 0")
    assert (upload.status_code, upload.text) == (200, f"dashboard /_upload {len(big)}")
    assert unknown_api.status_code == 404
    assert unknown_api.json() == {"reason": f"no API route {API}/no-such-thing: see "
                                            f"{API}/openapi.json for the routes", "status": 404}
