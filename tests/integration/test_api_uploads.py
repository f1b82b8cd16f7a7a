"""Hostile uploads through the API: each a 4xx with a reason, nothing stored, nothing left behind.

Nothing stored: no artifact file, no user agent or submission row. Nothing left behind: the
server's temporary folder is empty and no file the server opened there is still open.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
import zipfile
from collections.abc import Iterator
from http import HTTPStatus
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from rl_arena_app.api.app import create_api
from rl_arena_app.db.models import Agent, Submission
from rl_arena_app.db.session import session_scope
from rl_arena_app.settings import get_settings
from tests.support.agents import AGENT
from tests.support.api import API, serving
from tests.support.files import tgz_bytes, zip_bytes

UPLOAD_MB = 2  # over the 1 MiB a server keeps in memory: bigger uploads spool to disk
BOUNDARY = "rl-arena-test-boundary"


@pytest.fixture(name="server_tmp")
def server_tmp_fixture(tmp_path, monkeypatch) -> Path:
    """A private temporary folder for everything this process spools (the server's uploads)."""
    folder = tmp_path / "server-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture(name="api")
def api_fixture(platform, monkeypatch, server_tmp) -> Iterator[str]:
    """The API with a small upload limit, served for real."""
    monkeypatch.setenv("RL_ARENA_MAX_UPLOAD_MB", str(UPLOAD_MB))
    get_settings.cache_clear()
    with serving(create_api()) as url:
        yield url


def open_files_under(folder: Path) -> list[str]:
    """Files under ``folder`` this process still has open (deleted ones included)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            found.append(target)
    return found


def assert_nothing_kept(server_tmp: Path) -> None:
    with session_scope() as session:
        assert session.exec(select(func.count()).select_from(Submission)).one() == 0
        assert session.exec(select(func.count()).select_from(Agent)).one() == 0
    artifacts = get_settings().artifacts_dir
    assert not artifacts.exists() or not any(p.is_file() for p in artifacts.rglob("*"))
    assert list(server_tmp.iterdir()) == []
    assert_all_closed(server_tmp)


def assert_all_closed(folder: Path, within_s: float = 5.0) -> None:
    """No file under ``folder`` stays open: the server closes an upload's spooled file just after
    it has sent the answer, so the client may look a moment too early."""
    deadline = time.monotonic() + within_s
    while (left := open_files_under(folder)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == []


def post(url: str, who, files: dict | None, data: dict | None = None) -> httpx.Response:
    data = {"env": "tictactoe", "name": "bot"} if data is None else data
    with httpx.Client(base_url=url, timeout=60) as http:
        return http.post(f"{API}/submissions", headers=who.auth, data=data, files=files)


def bomb() -> bytes:
    """A small zip that inflates past the uncompressed limit (64 MiB of zeros)."""
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("agent.py", AGENT)
        archive.writestr("weights.bin", bytes(65 * 1024 * 1024))
    return buffer.getvalue()


HOSTILE = {
    "wrong type": ("agent.exe", b"MZ\x90\x00", 400, "not an agent upload"),
    "python that is not UTF-8": ("agent.py", b"def act(o, i):\n    return '\xff\xfe'\n", 400,
                                 "not valid UTF-8"),
    "zip slip": ("agent.zip", zip_bytes({"agent.py": AGENT, "../../evil.py": b"x = 1\n"}), 400,
                 "'..' component"),
    "absolute path": ("agent.tar.gz", tgz_bytes({"agent.py": AGENT, "/etc/cron.d/x": b"x"}),
                      400, "absolute path"),
    "zip symlink": ("agent.zip", zip_bytes({"agent.py": AGENT}, {"data": "/etc/passwd"}), 400,
                    "symlink"),
    "tar symlink": ("agent.tgz", tgz_bytes({"agent.py": AGENT}, {"data": "/etc/passwd"}), 400,
                    "symlink"),
    "archive bomb": ("agent.zip", bomb, 400, "uncompressed"),
    "not an archive": ("agent.zip", b"PK\x03\x04 this is not a zip", 400, "not a valid zip"),
    "no agent.py": ("agent.zip", zip_bytes({"helper.py": AGENT}), 400, "no agent.py"),
}


@pytest.mark.parametrize(("filename", "content", "status", "words"), HOSTILE.values(),
                         ids=HOSTILE.keys())
def test_a_hostile_upload_is_refused_with_a_reason(api, alice, server_tmp, filename, content,
                                                   status, words):
    content = content() if callable(content) else content

    response = post(api, alice, {"file": (filename, content)})

    assert response.status_code == status, response.text
    assert words in response.json()["reason"]
    assert "/tmp" not in response.json()["reason"]
    assert_nothing_kept(server_tmp)


@pytest.mark.parametrize(("files", "data", "field"), [
    (None, None, "file"),
    ({"file": ("agent.py", AGENT)}, {"name": "bot"}, "env"),
    ({"file": ("agent.py", AGENT)}, {"env": "tictactoe"}, "name"),
], ids=["no file", "no env", "no name"])
def test_a_missing_field_is_a_422_naming_it(api, alice, server_tmp, files, data, field):
    response = post(api, alice, files, data)

    assert response.status_code == 422, response.text
    assert f"form field '{field}'" in response.json()["reason"]
    assert_nothing_kept(server_tmp)


def test_json_instead_of_a_form_is_a_422(api, alice, server_tmp):
    with httpx.Client(base_url=api, timeout=60) as http:
        response = http.post(f"{API}/submissions", headers=alice.auth,
                             json={"env": "tictactoe", "name": "bot", "file": "x"})

    assert response.status_code == 422 and "form field 'file'" in response.json()["reason"]
    assert_nothing_kept(server_tmp)


def test_an_upload_just_over_the_limit_is_a_413(api, alice, server_tmp):
    over = AGENT + b"#" * (UPLOAD_MB * 1024 * 1024)  # within the multipart allowance

    response = post(api, alice, {"file": ("agent.py", over)})

    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert f"larger than {UPLOAD_MB} MiB" in response.json()["detail"]
    assert_nothing_kept(server_tmp)


def test_a_declared_oversize_body_is_refused_before_it_is_sent(api, alice, server_tmp):
    """Headers only, with a Content-Length of 2 GiB: the 413 comes without reading any body."""
    host, port = api.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST {API}/submissions HTTP/1.1\r\nHost: {host}\r\n"
                     f"Authorization: Bearer {alice.token}\r\n"
                     f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                     f"Content-Length: {2 * 1024**3}\r\n\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer
    assert b"content-type: application/problem+json" in head.lower()
    assert f'"title": "{HTTPStatus(413).phrase}"'.encode() in body
    assert f"larger than {UPLOAD_MB} MiB".encode() in body
    assert b"connection: close" in head.lower()
    assert_nothing_kept(server_tmp)


def test_a_chunked_body_is_cut_once_it_passes_the_limit(api, alice, server_tmp):
    sent = []

    def body() -> Iterator[bytes]:
        yield (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
               "filename=\"agent.py\"\r\nContent-Type: text/x-python\r\n\r\n").encode()
        for _ in range(64):  # 64 MiB offered, UPLOAD_MB allowed
            sent.append(1)
            yield b"#" * (1024 * 1024)
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    with httpx.Client(base_url=api, timeout=60) as http:
        response = http.post(f"{API}/submissions", content=body(),
                             headers={**alice.auth, "Content-Type":
                                      f"multipart/form-data; boundary={BOUNDARY}"})

    assert response.status_code == 413, response.text
    assert f"larger than {UPLOAD_MB} MiB" in response.json()["reason"]
    assert len(sent) < 64  # the client was stopped, not read to the end
    assert_nothing_kept(server_tmp)


def test_an_accepted_upload_leaves_only_its_artifact(api, alice, server_tmp):
    big = AGENT + b"#" * (1536 * 1024)  # spooled to a temporary file while it is parsed

    response = post(api, alice, {"file": ("agent.py", big)})

    assert response.status_code == 201, response.text
    assert list(server_tmp.iterdir()) == []
    assert_all_closed(server_tmp)
    stored = [p for p in get_settings().artifacts_dir.rglob("*") if p.is_file()]
    assert len(stored) == 1
