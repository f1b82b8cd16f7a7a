"""Agents' requirements as installed binary wheels, cached by the set they resolve to.

pip runs on the host with an allow-listed environment: it expands ``${VAR}`` and reads its
configuration from the environment, so it must never see a platform secret. What pip prints
goes to the worker's log only; submitters get a summary naming their requirement and the kind
of failure. Installs are cached by the *resolved* set (names, versions and wheel hashes, from
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
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from rl_arena_app.arena.bundle import parse_requirements
from rl_arena_app.core.text import printable
from rl_arena_app.errors import BadAgent, InfrastructureError
from rl_arena_app.settings import Settings, get_settings

log = logging.getLogger(__name__)

PIP_PATH = "/usr/bin:/bin"
PIP_TIMEOUT_S = 1200
PROBE_TIMEOUT_S = 60
LOG_OUTPUT_CHARS = 8000  # of pip's output, in the worker's log
# What pip may see of the worker's environment besides the fixed entries of `pip_environment`:
# the operator's way to the package index (index, proxy, CA). Nothing else, platform secrets
# (RL_ARENA_*, REDIS_URL, DATABASE_URL...) least of all.
PIP_PASSTHROUGH = frozenset({
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX",
    "PIP_TRUSTED_HOST", "PIP_CERT", "PIP_CLIENT_CERT", "PIP_PROXY", "PIP_TIMEOUT",
    "PIP_DEFAULT_TIMEOUT", "PIP_RETRIES", "PIP_CONFIG_FILE",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
    "http_proxy", "https_proxy", "no_proxy", "all_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
})
_MANYLINUX_MINORS = (17, 28, 31, 34, 35, 36)
_SETS, _RESOLUTIONS, _EVICT_LOCK, _ENTRY = "sets", "resolutions", ".evict.lock", "entry.json"
_LEFTOVER_AGE_S = 24 * 3600  # staging folders of a worker that died mid-install
_LEGACY_ENTRY = re.compile(r"[0-9a-f]{24}")  # folders of the cache keyed by requirements text
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def pip_environment(home: Path) -> dict[str, str]:
    """Everything pip sees: a fixed PATH, a fresh HOME and TMPDIR, UTF-8, and the operator's
    index, proxy and CA variables (``PIP_PASSTHROUGH``); nothing else of the worker's."""
    env = {name: value for name, value in os.environ.items() if name in PIP_PASSTHROUGH}
    env.update(PATH=PIP_PATH, HOME=str(home), TMPDIR=str(home), LANG="C.UTF-8",
               LC_ALL="C.UTF-8", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1",
               PIP_NO_COLOR="1", PIP_PROGRESS_BAR="off")
    return env


@dataclass(frozen=True)
class Target:
    """The interpreter and platforms wheels are chosen for: the sandbox's, not the worker's."""

    python_version: str
    platforms: tuple[str, ...]

    @classmethod
    def sandbox(cls, python_version: str) -> Target:
        """Linux on this host's architecture (manylinux wheels), for ``python_version``."""
        arch = platform.machine()
        return cls(python_version, tuple(f"manylinux_2_{m}_{arch}" for m in _MANYLINUX_MINORS))

    @property
    def label(self) -> str:
        """E.g. "Python 3.11 on Linux x86_64"."""
        return f"Python {self.python_version} on Linux {platform.machine()}"

    def pip_options(self) -> list[str]:
        """pip's options choosing binary wheels for this target."""
        return ["--only-binary=:all:", "--python-version", self.python_version,
                "--implementation", "cp", *[o for p in self.platforms for o in ("--platform", p)]]


@dataclass(frozen=True)
class Pin:
    """One resolved distribution: exactly this wheel of this version."""

    name: str
    version: str
    sha256: str | None

    def line(self, *, with_hash: bool = True) -> str:
        """The pinned requirement line pip installs it from."""
        return f"{self.name}=={self.version}" + (f" --hash=sha256:{self.sha256}"
                                                 if self.sha256 and with_hash else "")


# ---------------------------------------------------------------------------------------- pip


def resolve(requirements: Sequence[str], target: Target, work: Path) -> tuple[Pin, ...]:
    """The distributions pip would install for ``requirements`` (checked lines), sorted."""
    report = work / "report.json"
    _pip(["install", "--dry-run", "--ignore-installed", "--report", str(report),
          "--target", str(work / "unused"), *target.pip_options(),
          "-r", str(_requirements_file(work, "requested.txt", requirements))],
         work, requirements, target)
    try:
        items = json.loads(report.read_text())["install"]
        return tuple(sorted((_pin(item) for item in items), key=lambda p: p.name))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InfrastructureError("pip's resolution report could not be read "
                                  f"({type(exc).__name__}): the worker's pip is unusual") from None


def install_pins(pins: Sequence[Pin], target: Target, dest: Path, work: Path,
                 requirements: Sequence[str]) -> None:
    """Install exactly ``pins`` (no other dependency) into ``dest``: by hash when the index
    gave every wheel's (pip checks all lines or none)."""
    hashed = all(p.sha256 for p in pins)
    lines = [p.line(with_hash=hashed) for p in pins]
    _pip(["install", "--no-deps", *(["--require-hashes"] if hashed else []),
          "--target", str(dest.absolute()), *target.pip_options(),
          "-r", str(_requirements_file(work, "pinned.txt", lines))], work, requirements, target)


def install_requirements(requirements: str, dest: Path, python_version: str) -> tuple[Pin, ...]:
    """Resolve and install requirements.txt text into ``dest``, uncached; the pins installed."""
    lines = parse_requirements(requirements)
    target = Target.sandbox(python_version)
    with tempfile.TemporaryDirectory(prefix="rl-arena-pip-") as work:
        pins = resolve(lines, target, Path(work))
        install_pins(pins, target, dest, Path(work), lines)
    return pins


def _requirements_file(work: Path, name: str, lines: Sequence[str]) -> Path:
    path = work / name
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def _pin(item: dict) -> Pin:
    """A report's install item as a pin, every part checked (it goes into a pip file)."""
    name, version = item["metadata"]["name"], item["metadata"]["version"]
    sha256 = item.get("download_info", {}).get("archive_info", {}).get("hashes", {}).get("sha256")
    Version(version)  # raises InvalidVersion (a ValueError) for anything else
    if not _NAME.fullmatch(name) or (sha256 is not None and not _SHA256.fullmatch(sha256)):
        raise ValueError("unexpected name or hash")
    return Pin(name, version, sha256)


def _pip(args: list[str], work: Path, requirements: Sequence[str], target: Target) -> None:
    """Run pip in ``work`` with the allow-listed environment; raise a summary when it fails."""
    home = work / "home"
    home.mkdir(exist_ok=True)
    command = [sys.executable, "-I", "-m", "pip", *args]
    try:
        done = subprocess.run(command, cwd=work, env=pip_environment(home), check=False,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors="replace",
                              timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise InfrastructureError(f"installing the agent's requirements took longer than "
                                  f"{PIP_TIMEOUT_S} s: the package index is too slow") from None
    if done.returncode != 0:
        _log_output(done.stdout, requirements)
        raise pip_failure(done.stdout, requirements, target,
                          lambda name: _project_exists(name, work))


def _log_output(output: str, requirements: Sequence[str]) -> None:
    """pip's output, cleaned and cut, for the operator (never for the submitter)."""
    tail = output[-LOG_OUTPUT_CHARS:]
    log.warning("pip failed on requirements %s; its output:\n%s", list(requirements),
                printable(tail, multiline=True))


def _project_exists(name: str, work: Path) -> bool:
    """Whether the package index knows project ``name`` (with any file, source or wheel)."""
    try:
        done = subprocess.run([sys.executable, "-I", "-m", "pip", "index", "versions", name],
                              cwd=work, env=pip_environment(work / "home"), check=False,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              errors="replace", timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return True  # unknown: say "no wheel", which also holds for a project that exists
    return done.returncode == 0


# ------------------------------------------------------------------------ pip's failures, told


# What pip prints when the index, the network or the host failed rather than the request.
_DISK_FULL = ("No space left on device", "Disk quota exceeded", "[Errno 28]")
_NETWORK = ("NewConnectionError", "ConnectionError", "Max retries exceeded", "Read timed out",
            "ReadTimeoutError", "ProxyError", "SSLError", "Temporary failure in name",
            "Name or service not known", "Network is unreachable", "Connection reset",
            "HTTP error 5", "Could not fetch URL", "IncompleteRead")
_HASHES = "DO NOT MATCH THE HASHES"
_NO_PIP = "No module named pip"
_NO_VERSION = re.compile(r"Could not find a version that satisfies the requirement (.+?) "
                         r"\(from versions: ([^)]*)\)")
_CONFLICT = re.compile(r"Cannot install (.+?) because these package versions have conflicting")
_CAUSE = re.compile(r"^\s+([A-Za-z0-9._-]+) ([A-Za-z0-9.!+_-]+) depends on "
                    r"([A-Za-z0-9._-]+(?:\[[A-Za-z0-9._,-]+\])?[<>=!~ ,.*A-Za-z0-9+_-]*)$",
                    re.MULTILINE)
_FILE_LINE = re.compile(r"\(line (\d+)\)")
_INVALID = re.compile(r"Invalid requirement: .*?line (\d+)")
_OTHER_PYTHON = "require a different python version"
_FIX = ("check them with `pip install --dry-run --only-binary=:all: --python-version {python} "
        "--platform manylinux_2_17_{arch} --target deps -r requirements.txt`")


def pip_failure(output: str, requirements: Sequence[str], target: Target,
                project_exists=lambda name: True) -> BadAgent | InfrastructureError:
    """What went wrong, for people, from pip's output: a platform fault (InfrastructureError,
    retried) or the requirement at fault and the kind of fault (BadAgent). Nothing of pip's
    output is repeated but names and versions that match strict patterns."""
    if any(marker in output for marker in _DISK_FULL):
        return InfrastructureError("installing the agent's requirements failed: the worker's "
                                   "disk is full (the worker's log has pip's output)")
    if any(marker in output for marker in _NETWORK):
        return InfrastructureError("installing the agent's requirements failed: the package "
                                   "index could not be reached (the worker's log has pip's "
                                   "output)")
    if _NO_PIP in output:
        return InfrastructureError("installing the agent's requirements failed: the worker's "
                                   "Python has no pip")
    if _HASHES in output:  # the hashes are ours, from the resolution a moment before
        return InfrastructureError("installing the agent's requirements failed: the package "
                                   "index served other files than it listed a moment before")
    problem = _problem(output, requirements, target, project_exists)
    fix = _FIX.format(python=target.python_version, arch=platform.machine())
    return BadAgent(f"requirements.txt cannot be installed as binary wheels for "
                    f"{target.label}: {problem}; {fix}")


def _problem(output: str, requirements: Sequence[str], target: Target,
             project_exists) -> str:
    """The kind of fault and the requirement at fault, in one sentence."""
    if found := _NO_VERSION.search(output):
        return _no_version(found[1], found[2], requirements, target, project_exists,
                           other_python=_OTHER_PYTHON in output)
    if found := _CONFLICT.search(output):
        lines = _lines_named(found[1], requirements)
        between = " and ".join(repr(line) for line in lines) or "your requirements"
        needs = ((c[1], c[2], c[3].replace(" and ", ",")) for c in _CAUSE.finditer(output))
        causes = "; ".join(f"{name} {version} needs {need}" for name, version, need in needs
                           if _strict(need))
        return (f"version conflict between {between}" + (f" ({causes})" if causes else "")
                + ": loosen one of the pins")
    if found := _INVALID.search(output):
        line = _line_at(int(found[1]), requirements)
        return f"pip cannot read {line!r} as a requirement: write it like numpy>=1.26"
    return "pip refused them (the operator's worker log has the details)"


def _no_version(requested: str, versions: str, requirements: Sequence[str], target: Target,
                project_exists, *, other_python: bool) -> str:
    """No wheel for a requirement: unknown project, no wheel at all, or none matching."""
    name = _name_of(requested)
    if name is None:
        return "a requirement has no matching binary wheel"
    mine = next((line for line in requirements if _name_of(line) == name), None)
    what = repr(mine) if mine is not None else f"{name} (a dependency of your requirements)"
    available = _versions(versions)
    if available:
        newest = ", ".join(available[-5:])
        return (f"{what}: no release matching it has a binary wheel for {target.label} "
                f"(releases with one include {newest}): pin one of those, e.g. "
                f"{name}=={available[-1]}")
    if not project_exists(name):
        return f"{what}: there is no project {name} on the package index: check its name"
    python = (f"; its newer releases need another Python than {target.python_version}"
              if other_python else "")
    return (f"{what} has no binary wheel for {target.label}{python}: choose a package or "
            f"version that publishes one (pypi.org lists them under 'Download files')")


def _name_of(text: str) -> str | None:
    """The canonical project name of a requirement pip printed or one of ours."""
    try:
        return canonicalize_name(Requirement(text.strip()).name)
    except InvalidRequirement:
        head = re.match(r"[A-Za-z0-9._-]+", text.strip())
        return canonicalize_name(head[0]) if head and _NAME.fullmatch(head[0]) else None


def _versions(text: str) -> list[str]:
    """The valid versions in pip's "from versions:" list, oldest first."""
    found = []
    for word in text.split(","):
        with contextlib.suppress(InvalidVersion):
            found.append(str(Version(word.strip())))
    return found


def _lines_named(text: str, requirements: Sequence[str]) -> list[str]:
    """Our requirement lines pip names in ``text``: by "(line N)" or by project name."""
    named: list[str] = []
    for part in text.split(" and "):
        if line := _FILE_LINE.search(part):
            named.append(_line_at(int(line[1]), requirements))
        elif (name := _name_of(part)) is not None:
            named += [r for r in requirements if _name_of(r) == name]
    return list(dict.fromkeys(line for line in named if line))


def _line_at(number: int, requirements: Sequence[str]) -> str:
    """Requirement ``number`` (from 1) of the file pip read, or "" when out of range."""
    return requirements[number - 1] if 0 < number <= len(requirements) else ""


def _strict(requirement: str) -> bool:
    """Whether a requirement pip printed is a plain one we may repeat."""
    try:
        parse_requirements(requirement)
    except BadAgent:
        return False
    return True


# ---------------------------------------------------------------------------------- the cache


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
