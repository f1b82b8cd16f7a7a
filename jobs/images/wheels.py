"""Agents' requirements as installed binary wheels, cached by the set they resolve to.

Installs are cached by the *resolved* set (names, versions and wheel hashes, from
``pip install --dry-run --report``), so requirement texts that resolve alike share one entry and
a new upstream release makes a new one. The cache is bounded: least recently used entries go
first past ``RL_ARENA_WHEEL_CACHE_MB``, never one in use (a shared lock on its folder), and
several workers of one host may share it (atomic renames, one evictor at a time).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from jobs.images.requirements.install import install_pins, resolve
from jobs.images.requirements.target import Pin, Target
from rl_arena_app.arena.bundle import parse_requirements
from rl_arena_app.errors import InfrastructureError
from rl_arena_app.settings import Settings, get_settings

log = logging.getLogger(__name__)

_SETS, _RESOLUTIONS, _EVICT_LOCK, _ENTRY = "sets", "resolutions", ".evict.lock", "entry.json"
_LEFTOVER_AGE_S = 24 * 3600  # staging folders of a worker that died mid-install
_LEGACY_ENTRY = re.compile(r"[0-9a-f]{24}")  # folders of the cache keyed by requirements text


@dataclass(frozen=True)
class WheelCache:
    """Installed requirement sets under ``root``, at most ``max_bytes`` when not in use."""

    root: Path
    max_bytes: int

    def __post_init__(self) -> None:
        """Hold the root as an absolute path: pip runs in a folder of its own."""
        object.__setattr__(self, "root", self.root.absolute())

    @classmethod
    def of(cls, settings: Settings | None = None) -> WheelCache:
        """The platform's cache: ``<data dir>/wheels``, ``RL_ARENA_WHEEL_CACHE_MB``."""
        settings = settings or get_settings()
        return cls(settings.data_dir / "wheels", settings.wheel_cache_mb << 20)

    @contextlib.contextmanager
    def installed(self, requirements: str, python_version: str, *,
                  reuse_resolution: bool = False) -> Iterator[Path | None]:
        """A folder holding the requirements installed (None when there are none); it is not
        evicted before the block ends. ``reuse_resolution`` skips pip's resolution when the
        same text was resolved before and its set is still cached (every match of the process
        sandbox); otherwise pip resolves again, so a new upstream release is picked up."""
        lines = parse_requirements(requirements)
        if not lines:
            yield None
            return
        target = Target.sandbox(python_version)
        with tempfile.TemporaryDirectory(prefix="rl-arena-pip-") as work_dir:
            work = Path(work_dir)
            pins = (self._remembered(lines, target) if reuse_resolution else None)
            if pins is None:
                pins = resolve(lines, target, work)
                self._remember(lines, target, pins)
            with self._held(pins, target, work, lines) as site:
                yield site

    @contextlib.contextmanager
    def _held(self, pins: tuple[Pin, ...], target: Target, work: Path,
              lines: Sequence[str]) -> Iterator[Path]:
        """The entry of ``pins``, installed if missing, under a shared lock while in use."""
        key = set_key(pins, target)
        entry = self.root / _SETS / key
        for _ in range(3):  # an evictor may take the entry between our look and our lock
            if not entry.is_dir():
                self._install(entry, pins, target, work, lines)
            fd = _lock_entry(entry)
            if fd is None:
                continue
            try:
                os.utime(entry)  # its last use: the least recently used go first
                self.evict(keep=key)
                yield entry / "site"
                return
            finally:
                os.close(fd)
        raise InfrastructureError("the wheel cache kept losing the agent's requirements to "
                                  "eviction: raise RL_ARENA_WHEEL_CACHE_MB")

    def _install(self, entry: Path, pins: tuple[Pin, ...], target: Target, work: Path,
                 lines: Sequence[str]) -> None:
        """Install ``pins`` into a staging folder, then rename it into place atomically."""
        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".staging-{entry.name}-", dir=entry.parent))
        try:
            install_pins(pins, target, staging / "site", work, lines)
            info = {"size": _tree_size(staging), "python": target.python_version,
                    "pins": [p.line() for p in pins]}
            (staging / _ENTRY).write_text(json.dumps(info))
            try:
                staging.rename(entry)
            except OSError:  # another worker installed the same set first
                if not entry.is_dir():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def evict(self, keep: str | None = None) -> None:
        """Remove least recently used entries until the cache fits, skipping those in use."""
        self.root.mkdir(parents=True, exist_ok=True)
        lock = os.open(self.root / _EVICT_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # another worker is evicting right now
            self._remove_leftovers()
            entries = sorted(_entries(self.root / _SETS))
            total = sum(size for _, size, _ in entries)
            for _, size, path in entries:
                if total <= self.max_bytes:
                    break
                if path.name != keep and self._evict_one(path):
                    total -= size
            self._forget_evicted()
        finally:
            os.close(lock)

    def _evict_one(self, entry: Path) -> bool:
        """Remove one entry unless it is in use; whether it went (a failure is logged: the
        build that asked goes on, the cache is only over its size until the next eviction)."""
        try:
            removed = _remove_unused(entry)
        except OSError as exc:
            log.warning("wheel cache: could not evict %s (%s)", entry.name, exc.strerror)
            return False
        if removed:
            log.info("wheel cache: evicted %s", entry.name)
        return removed

    def _forget_evicted(self) -> None:
        """Drop remembered resolutions whose set is no longer cached."""
        folder = self.root / _RESOLUTIONS
        for memo in folder.iterdir() if folder.is_dir() else ():
            try:
                key = json.loads(memo.read_text())["set"]
            except (OSError, ValueError, KeyError, TypeError):
                key = ""
            if not (self.root / _SETS / key).is_dir() and not memo.name.startswith("."):
                memo.unlink(missing_ok=True)

    def _remove_leftovers(self) -> None:
        """Staging folders of dead workers, trash, and entries of the old text-keyed cache."""
        now = time.time()
        sets = self.root / _SETS
        for path in sets.glob(".staging-*") if sets.is_dir() else ():
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > _LEFTOVER_AGE_S:
                    shutil.rmtree(path, ignore_errors=True)
        for path in sets.glob(".trash-*") if sets.is_dir() else ():
            shutil.rmtree(path, ignore_errors=True)
        for path in self.root.iterdir():
            if path.is_dir() and _LEGACY_ENTRY.fullmatch(path.name):
                shutil.rmtree(path, ignore_errors=True)

    def _remembered(self, lines: Sequence[str], target: Target) -> tuple[Pin, ...] | None:
        """The last resolution of exactly these lines, if its set is still cached."""
        try:
            saved = json.loads((self.root / _RESOLUTIONS / _text_key(lines, target)).read_text())
            pins = tuple(Pin(*row) for row in saved["pins"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return pins if (self.root / _SETS / set_key(pins, target)).is_dir() else None

    def _remember(self, lines: Sequence[str], target: Target, pins: tuple[Pin, ...]) -> None:
        """Keep this resolution of these lines for ``reuse_resolution`` (atomic replace)."""
        folder = self.root / _RESOLUTIONS
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-")
        with os.fdopen(fd, "w") as out:
            json.dump({"set": set_key(pins, target),
                       "pins": [[p.name, p.version, p.sha256] for p in pins]}, out)
        os.replace(tmp, folder / _text_key(lines, target))


def set_key(pins: Sequence[Pin], target: Target) -> str:
    """The cache key of a resolved set: the target and every pinned wheel."""
    text = json.dumps([target.python_version, list(target.platforms),
                       sorted([canonicalize_name(p.name), p.version, p.sha256 or ""]
                              for p in pins)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _text_key(lines: Sequence[str], target: Target) -> str:
    text = json.dumps([target.python_version, list(target.platforms), list(lines)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _lock_entry(entry: Path) -> int | None:
    """A shared lock on ``entry`` (a descriptor to close), or None if it was evicted."""
    try:
        fd = os.open(entry, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return None
    fcntl.flock(fd, fcntl.LOCK_SH)  # waits for an evictor that is moving it away
    try:
        if os.stat(entry).st_ino == os.fstat(fd).st_ino:
            return fd
    except FileNotFoundError:
        pass
    os.close(fd)
    return None


def _remove_unused(entry: Path) -> bool:
    """Remove ``entry`` unless someone holds it; whether it was removed."""
    try:
        fd = os.open(entry, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # in use
        trash = entry.with_name(f".trash-{entry.name}-{os.getpid()}-{time.monotonic_ns()}")
        entry.rename(trash)
    finally:
        os.close(fd)
    shutil.rmtree(trash, ignore_errors=True)
    return True


def _entries(sets: Path) -> Iterator[tuple[float, int, Path]]:
    """(last use, size, folder) of every complete entry."""
    if not sets.is_dir():
        return
    for path in sets.iterdir():
        if path.name.startswith("."):
            continue
        try:
            used = path.stat().st_mtime
            size = int(json.loads((path / _ENTRY).read_text())["size"])
        except FileNotFoundError:
            continue
        except (OSError, ValueError, KeyError, TypeError):
            size = _tree_size(path)
        yield used, size, path


def _tree_size(root: Path) -> int:
    """Bytes of the regular files under ``root``."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())
