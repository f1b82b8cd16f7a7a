"""Content-addressed objects: agent uploads and replays, named by digest, written once, in one
store (obstore): the data dir by default, or the object storage of RL_ARENA_STORAGE_URL (S3,
GCS, Azure) that every host shares."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import os
import tarfile
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import obstore
from obstore.exceptions import AlreadyExistsError, BaseError, NotFoundError
from obstore.store import AzureStore, GCSStore, LocalStore, S3Store, from_url

from rl_arena_app.arena.bundle import AgentBundle, BundleLimits, bundle_from_bytes
from rl_arena_app.errors import BadInput, InfrastructureError, NotFound
from rl_arena_app.settings import get_settings

log = logging.getLogger(__name__)

ARTIFACTS = "artifacts"
REPLAYS = "replays"
# A store that is down fails a call within about this long (obstore retries for 3 minutes).
RETRY = {"max_retries": 3, "retry_timeout": timedelta(seconds=20)}
Store = LocalStore | S3Store | GCSStore | AzureStore  # what RL_ARENA_STORAGE_URL can name
STORE_DOWN = ("the platform's storage cannot be reached (an admin can look at the server's log); "
              "try again later")


# ------------------------------------------------------------------------------- the store


def store_url() -> str:
    """RL_ARENA_STORAGE_URL, or the data dir as a file:// URL."""
    settings = get_settings()
    return settings.storage_url or settings.data_dir.resolve().as_uri()


def object_store() -> Store:
    """This process's store for the current settings (opened once per URL)."""
    _refuse_a_fork()
    return _open(store_url(), os.getpid())


@lru_cache(maxsize=8)
def _open(url: str, pid: int) -> Store:
    """The store at ``url`` for process ``pid`` (a fork opens its own); its credentials and
    endpoint come from the environment."""
    try:
        if url.startswith("file:"):
            return LocalStore.from_url(url, mkdir=True)
        return from_url(url, retry_config=RETRY)  # type: ignore[return-value]  # no http(s)
    except BaseError as exc:  # e.g. az:// without AZURE_STORAGE_ACCOUNT_NAME
        log.error("storage %s cannot be opened: %s", url, exc)
        raise InfrastructureError("RL_ARENA_STORAGE_URL cannot be opened: "
                                  f"{str(exc).splitlines()[0][:300]}") from None


_used_by: int | None = None  # the process whose store calls started obstore's runtime


def _refuse_a_fork() -> None:
    """InfrastructureError in a process forked after its parent used the store: obstore's
    runtime does not survive a fork (its calls would hang); processes are spawned instead."""
    global _used_by
    if _used_by not in (None, os.getpid()):
        raise InfrastructureError("the storage cannot be used in a forked process whose parent "
                                  "used it: start the process with spawn or subprocess")
    _used_by = os.getpid()


def put_once(key: str, data: bytes) -> None:
    """Store ``data`` at ``key`` unless an object is there already (its keys name the content,
    so it holds the same bytes): never overwritten, and atomic (readers see all or nothing)."""
    try:
        obstore.put(object_store(), key, data, mode="create", use_multipart=False)
    except AlreadyExistsError:
        return
    except BaseError as exc:
        log.error("storage: writing %s failed: %s", key, exc)
        raise InfrastructureError(STORE_DOWN) from None


def read(key: str) -> bytes:
    """The object at ``key``: NotFound when it is missing, InfrastructureError when the store
    fails (messages name neither a server path nor the store's address)."""
    try:
        return bytes(obstore.get(object_store(), key).bytes())
    except (FileNotFoundError, NotFoundError):
        raise NotFound(f"{key} is missing from the storage") from None
    except BaseError as exc:
        log.error("storage: reading %s failed: %s", key, exc)
        raise InfrastructureError(STORE_DOWN) from None


# ------------------------------------------------------------------------- agent artifacts


def artifact_key(digest: str) -> str:
    """Where the artifact with ``digest`` lives in the store."""
    return f"{ARTIFACTS}/{digest[:2]}/{digest}.tar.gz"


def canonical_archive(bundle: AgentBundle) -> bytes:
    """The bundle's files as a reproducible tar.gz (sorted, zero mtimes, no owners)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT,
                      compresslevel=6) as tar:
        for name, content in sorted(bundle.files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), 0o644, 0
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def store_bundle(bundle: AgentBundle) -> str:
    """Store the bundle (once per content) and return its digest."""
    put_once(artifact_key(bundle.digest), canonical_archive(bundle))
    return bundle.digest


# A stored artifact was checked against the upload limits when it was accepted: loading it again
# must not refuse it under other limits (a canonical archive may be larger than the upload).
STORED_LIMITS = BundleLimits(max_upload_bytes=2**40, max_total_bytes=2**40, max_files=10**6)


def load_artifact(digest: str, name: str) -> AgentBundle:
    """Load a stored artifact back into a bundle; messages name it ``name``, never its key."""
    try:
        data = read(artifact_key(digest))
    except NotFound:
        raise BadInput(f"the stored code of {name!r} is missing from the artifact store: "
                       "submit the agent again") from None
    return bundle_from_bytes(data, ref=name, kind="tgz", limits=STORED_LIMITS)


# --------------------------------------------------------------------------------- replays


def store_replay(replay: dict[str, Any]) -> str:
    """Store a replay as gzip JSON named by its SHA-256; its key (``replays/ab/<sha>.json.gz``).

    A key, not a path: the store can move (another host, a bucket, a restored backup).
    """
    raw = json.dumps(replay, separators=(",", ":")).encode()
    digest = hashlib.sha256(raw).hexdigest()
    key = f"{REPLAYS}/{digest[:2]}/{digest}.json.gz"
    put_once(key, gzip.compress(raw, mtime=0))
    return key


def read_replay(stored: str) -> bytes:
    """The gzip bytes of a stored replay: a key, or an old row's absolute path on this host."""
    if not Path(stored).is_absolute():
        return read(stored)
    try:
        return Path(stored).read_bytes()
    except OSError:
        raise NotFound("an old replay file is missing from this host") from None
