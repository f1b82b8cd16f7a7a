"""The storage layer on a real S3 server (moto_server on localhost) and on the local default:
content keys, never overwriting, replays through the API, clear messages, and a worker that
shares only the database, Redis and the storage URL (an empty data dir of its own)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jobs.images.agent import agent_image_tag, base_identity
from jobs.sandbox.factory import runner_for
from rl_arena_app.arena.bundle import bundle_from_bytes
from rl_arena_app.db.models import Match, MatchStatus, Submission, SubmissionStatus
from rl_arena_app.errors import BadInput, InfrastructureError
from rl_arena_app.services.matches import play, queue, views
from rl_arena_app.services.storage import (
    STORED_LIMITS,
    artifact_key,
    put_once,
    read,
    store_bundle,
    store_replay,
)
from rl_arena_app.services.submissions import builds
from rl_arena_app.settings import get_settings
from tests.support.agents import ARGMAX_AGENT, builtin
from tests.support.api import API
from tests.support.factory import make_match, make_submission, played_match
from tests.support.processes import rl_arena
from tests.support.rows import fetch
from tests.support.s3_server import BUCKET, S3Server, s3_server

STORE_ADDRESS = ("127.0.0.1", "amazonaws", BUCKET, "testing")  # never in a message


@pytest.fixture(scope="session")
def s3(tmp_path_factory) -> Iterator[S3Server]:
    """moto_server for the session (a skip when it is missing: CI turns that into a failure)."""
    try:
        with s3_server(tmp_path_factory.mktemp("s3") / "moto.log") as server:
            yield server
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def bucket(platform, s3, monkeypatch) -> str:
    """The platform storing in the S3 bucket under a prefix of its own; that prefix."""
    prefix = f"arena-{uuid.uuid4().hex[:12]}"
    for name, value in s3.environment(prefix).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return prefix


def upload(client: httpx.Client, who, name: str, data: bytes) -> httpx.Response:
    return client.post(f"{API}/submissions", headers=who.auth,
                       data={"env": "tictactoe", "name": name}, files={"file": ("agent.py", data)})


def stored_files(archive: bytes) -> dict[str, bytes]:
    """The files of a stored artifact (a tar.gz)."""
    return bundle_from_bytes(archive, ref="stored", kind="tgz", limits=STORED_LIMITS).files


def files_under(folder: Path) -> list[str]:
    """The files under ``folder`` (relative, sorted); none when it does not exist."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# ------------------------------------------------------------------------------- S3 storage


def test_an_upload_lands_in_the_bucket_under_its_content_key(bucket, s3, client, alice):
    reply = upload(client, alice, "bot", ARGMAX_AGENT)

    assert reply.status_code == 201, reply.text
    submission = fetch(Submission, reply.json()["version"]["submission_id"])
    digest = submission.artifact_sha256
    assert s3.keys(bucket) == [f"{bucket}/artifacts/{digest[:2]}/{digest}.tar.gz"]
    stored = s3.read(f"{bucket}/{artifact_key(digest)}")
    assert stored_files(stored) == {"agent.py": ARGMAX_AGENT}
    assert builds.submission_bundle(submission).files["agent.py"] == ARGMAX_AGENT
    assert files_under(get_settings().data_dir) == []  # nothing under the data dir


def test_the_same_content_is_stored_once_and_never_overwritten(bucket, s3):
    bundle = builtin("random", "tictactoe")
    key = f"{bucket}/{artifact_key(bundle.digest)}"

    assert store_bundle(bundle) == store_bundle(bundle) == bundle.digest
    original = s3.read(key)
    put_once(artifact_key(bundle.digest), b"other bytes at the same key")

    assert s3.keys(bucket) == [key]
    assert s3.read(key) == original == read(artifact_key(bundle.digest))


def test_a_match_replay_is_stored_in_the_bucket_and_downloads_through_the_api(bucket, s3,
                                                                             client):
    a, b = make_submission("a@example.org", "a"), make_submission("b@example.org", "b")
    match_id = make_match(a, b, status=MatchStatus.QUEUED, attempts=0)

    assert play.play_match(match_id, runner_for("process")) is True
    key = fetch(Match, match_id).replay_path
    reply = client.get(f"{API}/matches/{match_id}/replay")

    assert key.startswith("replays/") and f"{bucket}/{key}" in s3.keys(bucket)
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/gzip"
    assert reply.headers["content-disposition"] == \
        f'attachment; filename="match-{match_id}.json.gz"'
    assert reply.content == s3.read(f"{bucket}/{key}")
    assert json.loads(gzip.decompress(reply.content))["seed"] == fetch(Match, match_id).seed
    assert views.match_detail(match_id).env_version  # read from the replay in the bucket
    assert not (get_settings().data_dir / "replays").exists()


def test_a_missing_object_gives_the_clear_message_and_no_address(bucket, s3, client, alice):
    submission = fetch(Submission, upload(client, alice, "gone", ARGMAX_AGENT)
                       .json()["version"]["submission_id"])
    match_id = played_match(submission.agent_id,
                            fetch(Submission, make_submission("b@example.org", "b")).agent_id)
    for key in s3.keys(bucket):
        s3.client().delete_object(Bucket=BUCKET, Key=key)

    with pytest.raises(BadInput) as caught:
        builds.submission_bundle(submission)
    replay = client.get(f"{API}/matches/{match_id}/replay")
    detail = client.get(f"{API}/matches/{match_id}")

    assert "agent.py" in str(caught.value) and "submit the agent again" in str(caught.value)
    assert replay.status_code == 404
    assert replay.json()["detail"] == f"the replay file of match {match_id} is missing"
    assert detail.status_code == 200  # a page without the replay's header, not an error
    for text in (str(caught.value), replay.text):
        assert not any(part in text for part in STORE_ADDRESS), text


def test_a_store_that_cannot_be_reached_is_an_infrastructure_error_without_its_address(
        bucket, monkeypatch, client):
    make_submission("a@example.org", "a")  # stored while the store was up
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("RL_ARENA_STORAGE_URL", f"s3://{BUCKET}/{bucket}-down")
    get_settings.cache_clear()

    with pytest.raises(InfrastructureError) as caught:
        store_replay({"format": "test", "games": []})

    assert "storage cannot be reached" in str(caught.value)
    assert not any(part in str(caught.value) for part in STORE_ADDRESS)


# ------------------------------------------------------------------- a worker on another host


@pytest.mark.docker
def test_a_worker_with_an_empty_data_dir_builds_and_plays_from_the_bucket(
        bucket, s3, docker_engine, client, alice, bob, tmp_path):
    """The second host's worker shares the database, Redis and the storage URL only: it builds
    both images from the stored artifacts and plays their match; its data dir gets neither."""
    marker = uuid.uuid4().hex  # new content: no image of it exists on this engine yet
    sources = [ARGMAX_AGENT + f"# {marker} {k}\n".encode() for k in range(2)]
    ids = [upload(client, who, "bot", source).json()["version"]["submission_id"]
           for who, source in zip((alice, bob), sources, strict=True)]
    other_host = {"RL_ARENA_DATA_DIR": str(tmp_path / "other-host"), "RL_ARENA_SANDBOX": "docker"}
    base_id = base_identity(docker_engine.client.images.get(get_settings().agent_base_image))
    tags = [agent_image_tag(base_id, builds.submission_bundle(fetch(Submission, s))) for s in ids]
    try:
        built = rl_arena("worker", "--burst", env=other_host, timeout=600)
        assert [fetch(Submission, s).status for s in ids] == [SubmissionStatus.READY] * 2, \
            built.stdout + built.stderr
        match_id = make_match(*ids, status=MatchStatus.QUEUED, attempts=0)
        queue.enqueue_match(match_id, 0)
        played = rl_arena("worker", "--burst", env=other_host, timeout=600)
    finally:
        for tag in tags:
            if docker_engine.client.images.list(name=tag):
                docker_engine.client.images.remove(tag, force=True)

    match = fetch(Match, match_id)
    assert match.status == MatchStatus.FINISHED, played.stdout + played.stderr + str(match.error)
    assert f"{bucket}/{match.replay_path}" in s3.keys(bucket)
    assert [fetch(Submission, s).image for s in ids] == tags  # built there, by content
    worker_files = files_under(tmp_path / "other-host")
    assert not [f for f in worker_files if f.startswith(("artifacts/", "replays/"))]
    assert files_under(get_settings().data_dir) == []


# ------------------------------------------------------------------------- the local default


def test_the_local_default_keeps_the_data_dir_layout(platform, client):
    assert get_settings().storage_url is None
    bundle = builtin("random", "tictactoe")
    digest = store_bundle(bundle)
    key = store_replay({"format": "test", "games": []})
    put_once(artifact_key(digest), b"other bytes at the same key")

    data_dir = get_settings().data_dir
    replay_digest = hashlib.sha256(gzip.decompress((data_dir / key).read_bytes())).hexdigest()
    assert files_under(data_dir) == sorted([f"artifacts/{digest[:2]}/{digest}.tar.gz",
                                            f"replays/{replay_digest[:2]}/{replay_digest}.json.gz"])
    assert stored_files((data_dir / artifact_key(digest)).read_bytes()) == bundle.files


def test_an_old_rows_absolute_replay_path_is_still_read(platform, client, tmp_path):
    old = tmp_path / "elsewhere" / "old.json.gz"
    old.parent.mkdir()
    old.write_bytes(gzip.compress(b'{"format": "old"}'))
    a, b = make_submission("a@example.org", "a"), make_submission("b@example.org", "b")
    match_id = make_match(a, b, status=MatchStatus.FINISHED, replay_path=str(old))
    gone_id = make_match(a, b, status=MatchStatus.FINISHED, replay_path=str(old) + ".gone")

    reply = client.get(f"{API}/matches/{match_id}/replay")
    gone = client.get(f"{API}/matches/{gone_id}/replay")

    assert reply.status_code == 200 and reply.content == old.read_bytes()
    assert gone.status_code == 404 and str(tmp_path) not in gone.text
    assert os.fspath(old) not in gone.text


def test_a_fork_of_a_process_that_used_the_store_is_refused_not_hung(platform):
    """obstore's runtime does not survive a fork (its calls hang in the child): the layer says so
    at once. The child ends itself after 20 s (SIGALRM) if it hangs all the same."""
    store_replay({"format": "test", "games": []})  # this process has used the store
    child = os.fork()
    if child == 0:  # pragma: no cover (the child's verdict is its exit status)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)  # not pytest-timeout's Python handler
        signal.alarm(20)
        try:
            store_replay({"format": "test", "games": [1]})
        except InfrastructureError as exc:
            os._exit(0 if "forked process" in str(exc) else 2)
        os._exit(3)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
