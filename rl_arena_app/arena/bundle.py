"""Load an agent upload (built-in, .py file, directory or archive) into memory, safely."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import BinaryIO, NoReturn

from packaging.requirements import InvalidRequirement, Requirement

from rl_arena_app.arena.onnx_policy import CONFIG_FILE, POLICY_FILE, PolicyError, parse_config
from rl_arena_app.errors import BadAgent

AGENT_FILE = "agent.py"
KAGGLE_FILE = "main.py"  # a Kaggle archive's entry, used when there is no agent.py
# An ONNX policy's model, run by the harness when there is neither: with agent.py, a model is
# just one of the agent's files.
ENTRY_FILES = (AGENT_FILE, KAGGLE_FILE, POLICY_FILE)
REQUIREMENTS_FILE = "requirements.txt"
BUILTIN_PREFIX = "builtin:"

_MIB = 1024 * 1024
_CHUNK = _MIB
MAX_NAME_BYTES = 255  # a file or folder name (NAME_MAX of Linux file systems)
MAX_PATH_BYTES = 1024  # a whole path inside the agent
# Archives may hold folders and skipped junk besides files; cap all entries so a header flood
# (millions of empty entries in a small .tgz) cannot keep us busy.
_ENTRIES_PER_FILE = 4
# tarfile reads a member's extra headers (GNU long name or link, pax records, a sparse map) whole,
# whatever size the archive declares: a 1 MB .tar.gz declaring gigabytes took gigabytes. A member's
# headers may take this much, and all headers together the second amount.
_TAR_MEMBER_HEADERS = 64 * 1024
_TAR_ALL_HEADERS = 16 * _MIB
_TAR_PADDING = 512  # per entry: data is padded to whole 512-byte blocks
_TAR_BLOCK = 512
# tarfile (CPython before 3.11.10, CVE-2024-6232) searches pax records with patterns that take
# quadratic time on a long run of digits: 60 KiB of them took 4 s per member. A pax length or
# time has at most 20 digits, so a longer run in an extended header is refused before tarfile
# parses it.
_LONG_NUMBER = re.compile(rb"[0-9]{21}")
# zipfile reads the central directory in one piece, then makes an object per entry (300,000
# empty entries took 170 MiB); only that read is larger than its search for the end record.
_ZIP_END_SEARCH = (1 << 16) + 22
_ZIP_DIRECTORY_PER_ENTRY = 512  # bytes of central directory allowed per entry (name, extras)
_ZIP_ENTRY = struct.Struct("<4s24xHHH12x")  # a central directory header: signature, lengths
_SKIP_DIRS = frozenset({"__pycache__", ".git", "__MACOSX"})
_SKIP_FILES = frozenset({".DS_Store"})
_DRIVE = re.compile(r"^[A-Za-z]:")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:|://")
_INLINE_COMMENT = re.compile(r"(^|\s)#.*$")
_PIP_OPTION = re.compile(r" -")
_PYPI_ONLY = "only PyPI requirements installable as binary wheels are allowed, e.g. numpy>=1.26"
MAX_REQUIREMENT_CHARS = 400  # a line of requirements.txt (pins with markers stay far below)
_PLAIN_FORM = ("write one package per line: a name, optional [extras], optional version "
               "specifiers and an optional '; marker', e.g. numpy>=1.26,<3 or "
               "torch==2.3.1; python_version >= \"3.10\"")
# A plain PEP 508 requirement, allow-listed whole: a project name, extras, specifiers whose
# versions use only the characters versions use (PEP 440: digits, letters, . * + ! _ -),
# and an environment marker made of marker names, comparisons, quoted words and parentheses.
_WS = r"[ \t]*"
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_EXTRAS = rf"\[{_WS}(?:{_NAME}(?:{_WS},{_WS}{_NAME})*)?{_WS}\]"
_SPECIFIER = rf"(?:===|==|!=|~=|<=|>=|<|>){_WS}[A-Za-z0-9._*+!-]+"
_SPECIFIERS = rf"{_SPECIFIER}(?:{_WS},{_WS}{_SPECIFIER})*"
# Possessive (++, *+): a marker word never gives characters back, so a line that fails at its
# end is refused in one pass (with backtracking, "six; " + 26 letters + "%" took 9 s).
_MARKER_WORD = r"[A-Za-z0-9_.]++|\"[A-Za-z0-9._*+!~ -]*+\"|'[A-Za-z0-9._*+!~ -]*+'"
_MARKER = rf"(?:{_MARKER_WORD}|===|==|!=|~=|<=|>=|<|>|[()]|[ \t]++)++"
_PLAIN_REQUIREMENT = re.compile(
    rf"{_NAME}{_WS}(?:{_EXTRAS})?{_WS}(?:{_SPECIFIERS}|\({_WS}{_SPECIFIERS}{_WS}\))?"
    rf"{_WS}(?:;{_WS}{_MARKER})?")
_FORMATS = "give a .py or .onnx file, a directory, or a .zip, .tar, .tar.gz or .tgz archive"
_TRIM = "remove data files, checkpoints and virtualenvs that the agent does not need"
# The files every Stable-Baselines3 model.zip has at its root.
_SB3_MARKERS = frozenset({"data", "policy.pth", "_stable_baselines3_version"})
_SHRINK = ("shrink the model: fewer or narrower layers, or float16 / int8 weights (a policy "
           "rarely needs more than a few MiB)")


@dataclass(frozen=True)
class BundleLimits:
    """Size and count limits enforced while an upload is read."""

    max_upload_bytes: int = 20 * _MIB  # size of the file/archive as given
    max_total_bytes: int = 64 * _MIB  # sum of uncompressed file sizes
    max_files: int = 2000


DEFAULT_LIMITS = BundleLimits()


@dataclass(frozen=True)
class AgentBundle:
    """An agent's files held in memory: relative POSIX path -> content, always with an entry file
    (agent.py, else main.py)."""

    ref: str
    files: Mapping[str, bytes] = field(repr=False)
    builtin: str | None = None

    def __post_init__(self) -> None:
        """Check that an entry file is present and freeze the file mapping in sorted order."""
        if entry_file(self.files) is None:
            raise BadAgent(f"agent {self.ref!r} has no {AGENT_FILE}: every agent needs one "
                           f"({KAGGLE_FILE} for a Kaggle agent, {POLICY_FILE} for an ONNX "
                           "policy)")
        object.__setattr__(self, "files", MappingProxyType(dict(sorted(self.files.items()))))

    def __hash__(self) -> int:
        """Hash by content, consistent with equality."""
        return hash(self.digest)

    @property
    def entry(self) -> str:
        """The file the harness runs: agent.py, else main.py."""
        entry = entry_file(self.files)
        assert entry is not None  # checked when the bundle was made
        return entry

    @property
    def is_policy(self) -> bool:
        """Whether the agent is an ONNX policy run by the harness (no Python entry file)."""
        return self.entry == POLICY_FILE

    @property
    def requirements(self) -> str | None:
        """The decoded requirements.txt, or None when the agent has none."""
        raw = self.files.get(REQUIREMENTS_FILE)
        return None if raw is None else raw.decode("utf-8-sig")

    @cached_property
    def digest(self) -> str:
        """SHA-256 hex over the sorted (path, content) pairs, each length-prefixed."""
        h = hashlib.sha256(b"rl-arena-bundle-v1\0")
        for path, content in sorted(self.files.items()):
            name = path.encode("utf-8", "surrogateescape")
            for part in (name, content):
                h.update(len(part).to_bytes(8, "big"))
                h.update(part)
        return h.hexdigest()


def entry_file(files: Mapping[str, bytes]) -> str | None:
    """The agent's entry file: agent.py, else a Kaggle agent's main.py, else an ONNX policy's
    policy.onnx; None when it has none of them."""
    return next((name for name in ENTRY_FILES if name in files), None)


def load_bundle(ref: str, *, env_id: str, limits: BundleLimits = DEFAULT_LIMITS) -> AgentBundle:
    """Read an agent from `builtin:NAME`, a .py file, a directory or a zip/tar archive."""
    if ref.startswith(BUILTIN_PREFIX):
        return _load_builtin(ref, env_id, limits)
    path = Path(ref).expanduser()
    try:
        st = path.stat()
    except FileNotFoundError:
        raise BadAgent(
            f"agent path {ref!r} does not exist: check the path, or use builtin:NAME"
        ) from None
    except OSError as exc:
        raise BadAgent(
            f"cannot read agent path {ref!r} ({exc.strerror}): check that it is readable"
        ) from exc
    if stat.S_ISDIR(st.st_mode):
        return _finish(ref, _read_directory(path, ref, _Budget(limits)), set(), what="directory")
    if not stat.S_ISREG(st.st_mode):
        raise BadAgent(f"agent path {ref!r} is not a regular file or directory: {_FORMATS}")
    kind = _kind(path.name)
    if kind is None:
        raise BadAgent(f"agent path {ref!r} has an unsupported file type: {_FORMATS}")
    data = _read_upload(path, ref, limits, st.st_size)
    return bundle_from_bytes(data, ref=ref, kind=kind, limits=limits)


def bundle_from_bytes(data: bytes, *, ref: str, kind: str | None = None,
                      limits: BundleLimits = DEFAULT_LIMITS) -> AgentBundle:
    """Read an uploaded file's bytes (a .py or an archive, by ``kind`` or ``ref``'s suffix).

    ``ref`` names the upload in messages: give what the submitter called it, never a server path.
    """
    kind = kind or _kind(ref)
    if kind is None:
        raise BadAgent(f"agent upload {ref!r} has an unsupported file type: {_FORMATS}")
    if len(data) > limits.max_upload_bytes:
        raise upload_too_big(ref, limits.max_upload_bytes)
    budget = _Budget(limits)
    if kind in ("py", "onnx"):
        budget.check_size(len(data))
        return _finish(ref, {AGENT_FILE if kind == "py" else POLICY_FILE: data}, set(),
                       what="file")
    files: dict[str, bytes] = {}
    dirs: set[str] = set()
    if kind == "zip":
        _read_zip(data, ref, budget, files, dirs)
    else:
        _read_tar(data, ref, kind, budget, files, dirs)
    return _finish(ref, files, dirs, what="archive")


def upload_too_big(ref: str, limit: int) -> BadAgent:
    """The refusal of an upload over the size limit, with the fix for its kind of file."""
    if _kind(ref) == "onnx":
        return BadAgent(f"the model {ref!r} is larger than {_size(limit)}, the upload limit: "
                        f"{_SHRINK}")
    return BadAgent(f"agent upload {ref!r} is larger than {_size(limit)}: {_TRIM}")


def parse_requirements(text: str) -> list[str]:
    """Validate requirements.txt text; return one normalized requirement per non-comment line.

    Each line must match a plain PEP 508 requirement as a whole (``_PLAIN_REQUIREMENT``): pip
    reads more than that (options, URLs, paths, ``${VAR}`` expanded from its environment, line
    continuations), and none of it is what an agent needs.
    """
    result: list[str] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = _INLINE_COMMENT.sub("", raw).strip()
        if not line:
            continue
        _check_requirement_line(line, f"requirements.txt line {lineno} ({_quoted(line)})")
        result.append(str(Requirement(line)))
    return result


def _check_requirement_line(line: str, where: str) -> None:
    """Refuse anything but a plain requirement, with a message naming the line and the fix."""
    if len(line) > MAX_REQUIREMENT_CHARS:
        raise BadAgent(f"{where} is longer than {MAX_REQUIREMENT_CHARS} characters: "
                       f"{_PLAIN_FORM}")
    if line.startswith("-"):
        raise BadAgent(f"{where} is a pip option: {_PYPI_ONLY}")
    if _PIP_OPTION.search(line):
        # pip reads every space-separated word starting with '-' as an option, even inside
        # a quoted marker, and then refuses the whole file.
        raise BadAgent(f"{where} has a word starting with '-' after a space, which pip reads "
                       f"as an option: remove it; {_PYPI_ONLY}")
    if line.endswith("\\"):
        raise BadAgent(f"{where} ends with a backslash, which pip reads as a line continuation: "
                       f"write each requirement whole on its own line; {_PYPI_ONLY}")
    if _URL.search(line) or _looks_like_path(line):
        raise BadAgent(f"{where} is a URL or local path: {_PYPI_ONLY}")
    if "@" in line:
        raise BadAgent(f"{where} is a direct reference: {_PYPI_ONLY}")
    if "$" in line:
        raise BadAgent(f"{where} uses '$', which pip expands from the environment of the "
                       f"build: write the version itself; {_PYPI_ONLY}")
    if not _PLAIN_REQUIREMENT.fullmatch(line):
        raise BadAgent(f"{where} is not a valid requirement: {_PLAIN_FORM}")
    try:
        req = Requirement(line)
    except InvalidRequirement:
        raise BadAgent(f"{where} is not a valid requirement: {_PLAIN_FORM}") from None
    if req.url:  # pragma: no cover - the pattern already refuses '@'
        raise BadAgent(f"{where} is a direct reference: {_PYPI_ONLY}")


def _quoted(line: str) -> str:
    """A requirement line for a message: its repr, cut to a readable length."""
    return repr(line) if len(line) <= 80 else repr(line[:77]) + "…"


class _Budget:
    """Running totals of files and bytes read, checked against the limits as reading goes."""

    def __init__(self, limits: BundleLimits) -> None:
        self.limits = limits
        self.total = 0
        self.files = 0
        self.entries = 0

    @property
    def remaining(self) -> int:
        """Bytes that may still be read before the total limit is exceeded."""
        return self.limits.max_total_bytes - self.total

    @property
    def entry_cap(self) -> int:
        """How many archive entries of any kind are read at most."""
        return self.limits.max_files * _ENTRIES_PER_FILE

    def add_entry(self, what: str) -> None:
        """Count one archive entry of any kind."""
        self.entries += 1
        if self.entries > self.entry_cap:
            raise self.too_many_entries(what)

    def too_many_entries(self, what: str) -> BadAgent:
        """The refusal of an archive with more entries than the cap."""
        return BadAgent(f"{what} has more than {self.entry_cap} entries: {_TRIM}")

    def add_file(self, what: str) -> None:
        """Count one regular file."""
        self.files += 1
        if self.files > self.limits.max_files:
            raise BadAgent(f"{what} has more than {self.limits.max_files} files: {_TRIM}")

    def check_size(self, declared: int) -> None:
        """Refuse early when a declared size already exceeds what is left (never to accept)."""
        if declared > self.remaining:
            raise self.too_big()

    def read(self, stream: BinaryIO) -> bytes:
        """Read a stream to its end, never holding more than the remaining allowance + 1 byte."""
        allowance = self.remaining
        chunks: list[bytes] = []
        got = 0
        while chunk := stream.read(min(_CHUNK, allowance + 1 - got)):
            got += len(chunk)
            if got > allowance:
                raise self.too_big()
            chunks.append(chunk)
        self.total += got
        return b"".join(chunks)

    def too_big(self) -> BadAgent:
        """The refusal of files adding up to more than the total limit."""
        limit = _size(self.limits.max_total_bytes)
        return BadAgent(f"agent files add up to more than {limit} uncompressed: {_TRIM}")


class _TarStream:
    """A tar's (decompressed) bytes as tarfile reads them, refused past the upload's budgets
    before a read allocates anything: headers (``_TAR_MEMBER_HEADERS`` per member,
    ``_TAR_ALL_HEADERS`` in all) and every byte pulled, data and skipped members included."""

    def __init__(self, raw: BinaryIO, what: str, budget: _Budget) -> None:
        self._raw, self._what, self._budget = raw, what, budget
        self._position = 0
        self._limit = (budget.limits.max_total_bytes + _TAR_ALL_HEADERS
                       + budget.entry_cap * _TAR_PADDING + _MIB)
        self._member_headers = 0
        self._all_headers = 0
        self.reading_data = False

    def next_member(self) -> None:
        """The next member's headers come: they get an allowance of their own."""
        self._member_headers = 0
        self.reading_data = False

    def tell(self) -> int:
        """Bytes pulled so far."""
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Skip forward by reading (tarfile reads members in order; no going back)."""
        if whence != io.SEEK_SET or offset < self._position:
            raise io.UnsupportedOperation("tar members are read in order")
        while self._position < offset and self._pull(min(_CHUNK, offset - self._position)):
            pass
        return self._position

    def read(self, size: int = -1) -> bytes:
        """Read ``size`` bytes, refusing first when they would break a budget."""
        if size is None or size < 0:
            raise io.UnsupportedOperation("tar members are read in bounded pieces")
        if not self.reading_data:
            self._member_headers += size
            self._all_headers += size
            if self._member_headers > _TAR_MEMBER_HEADERS:
                raise BadAgent(f"{self._what} has a tar header over "
                               f"{_TAR_MEMBER_HEADERS // 1024} KiB (a long name, pax records or a "
                               "sparse map): re-create it with a standard tar and names "
                               f"under {MAX_PATH_BYTES} bytes")
            if self._all_headers > _TAR_ALL_HEADERS:
                raise BadAgent(f"{self._what} has more than {_size(_TAR_ALL_HEADERS)} of tar "
                               f"headers: {_TRIM}")
        data = self._pull(size)
        if not self.reading_data and size > _TAR_BLOCK and _LONG_NUMBER.search(data):
            raise BadAgent(f"{self._what} has a tar header holding a number of more than 20 "
                           "digits (pax records, a long name or a sparse map): re-create it "
                           "with a standard tar")
        return data

    def _pull(self, size: int) -> bytes:
        if self._position + size > self._limit:
            raise self._budget.too_big()
        data = self._raw.read(size)
        self._position += len(data)
        return data


class _ZipSource(io.BytesIO):
    """An upload as zipfile reads it. While zipfile lists the archive (``listing``), its read of
    the central directory is walked first and refused past the entry cap or
    ``_ZIP_DIRECTORY_PER_ENTRY`` bytes per entry, before zipfile makes an object per entry."""

    def __init__(self, data: bytes, what: str, budget: _Budget) -> None:
        super().__init__(data)
        self._view = memoryview(data)
        self._what, self._budget = what, budget
        self.listing = True

    def read(self, size: int | None = -1) -> bytes:
        """Read as BytesIO does; while listing, check a central directory before it is read."""
        if self.listing:
            start = self.tell()
            end = len(self._view) if size is None or size < 0 else start + size
            if min(end, len(self._view)) - start > _ZIP_END_SEARCH:
                self._check_directory(self._view[start:end])
        return super().read(size)

    def _check_directory(self, directory: memoryview) -> None:
        """Count the entries of a central directory the way zipfile walks it, without copying."""
        cap = self._budget.entry_cap
        most = cap * _ZIP_DIRECTORY_PER_ENTRY + _MIB
        if len(directory) > most:
            raise BadAgent(f"{self._what} has a zip central directory over {_size(most)}: "
                           f"{_TRIM}")
        offset = count = 0
        while offset + 46 <= len(directory):
            signature, name, extra, comment = _ZIP_ENTRY.unpack_from(directory, offset)
            if signature != b"PK\x01\x02":
                break  # zipfile refuses the archive there
            count += 1
            if count > cap:
                raise self._budget.too_many_entries(self._what)
            offset += 46 + name + extra + comment


def _load_builtin(ref: str, env_id: str, limits: BundleLimits) -> AgentBundle:
    """Load a built-in baseline agent as a one-file bundle."""
    name = ref[len(BUILTIN_PREFIX) :]
    if not name:
        raise BadAgent("built-in agent name is empty: use builtin:NAME, e.g. builtin:random")
    from rl_arena_app.arena.baselines import builtin_path

    path = builtin_path(name, env_id)
    data = _read_upload(path, ref, limits, None)
    return _finish(ref, {AGENT_FILE: data}, set(), what="file", builtin=name)


def _kind(name: str) -> str | None:
    """Classify a file name as py, zip, tar or tgz by its suffix."""
    lower = name.lower()
    for suffix, kind in ((".py", "py"), (".onnx", "onnx"), (".zip", "zip"), (".tar", "tar")):
        if lower.endswith(suffix):
            return kind
    if lower.endswith((".tar.gz", ".tgz")):
        return "tgz"
    return None


def _size(n: int) -> str:
    """Format a byte count for messages."""
    return f"{n / _MIB:.1f} MiB" if n >= _MIB else f"{n} bytes"


def _one_line(exc: BaseException) -> str:
    """An exception's text collapsed to one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _read_upload(path: Path, ref: str, limits: BundleLimits, size: int | None) -> bytes:
    """Read an uploaded file whole, refusing it when it is over max_upload_bytes."""
    if size is not None and size > limits.max_upload_bytes:
        raise upload_too_big(ref, limits.max_upload_bytes)
    try:
        with path.open("rb") as fh:
            data = fh.read(limits.max_upload_bytes + 1)
    except OSError as exc:
        raise BadAgent(
            f"cannot read agent path {ref!r} ({exc.strerror}): check that it is readable"
        ) from exc
    if len(data) > limits.max_upload_bytes:
        raise upload_too_big(ref, limits.max_upload_bytes)
    return data


def _member_path(name: str, what: str) -> str | None:
    """Normalize an entry name to a safe relative POSIX path (None for the root itself)."""
    fix = "re-create it from a plain folder of files"
    if "\\" in name:
        raise BadAgent(f"{what} {name!r} contains a backslash: use forward slashes; {fix}")
    if name.startswith("/") or _DRIVE.match(name):
        raise BadAgent(f"{what} {name!r} is an absolute path: use relative paths; {fix}")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise BadAgent(f"{what} {name!r} has control characters in its name: rename it")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise BadAgent(f"{what} {name!r} has a name that is not valid UTF-8: rename it") from None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise BadAgent(f"{what} {name!r} has a '..' component: use paths inside the agent; {fix}")
    path = "/".join(parts)
    long_part = next((p for p in parts if len(p.encode()) > MAX_NAME_BYTES), None)
    if long_part is not None:
        raise BadAgent(f"{what} {long_part[:40]!r}… has a name longer than {MAX_NAME_BYTES} "
                       "bytes, which no file system stores: shorten it")
    if len(path.encode()) > MAX_PATH_BYTES:
        raise BadAgent(f"{what} {path[:40]!r}… has a path longer than {MAX_PATH_BYTES} bytes: "
                       "use shorter folder and file names")
    return path or None


def _skipped(path: str) -> bool:
    """Whether a relative path is junk we never include (caches, VCS and macOS metadata)."""
    parts = path.split("/")
    return (
        any(p in _SKIP_DIRS for p in parts)
        or parts[-1] in _SKIP_FILES
        or parts[-1].endswith(".pyc")
    )


def _add(files: dict[str, bytes], path: str, content: bytes, ref: str) -> None:
    """Add one file, refusing duplicate paths."""
    if path in files:
        raise BadAgent(
            f"archive {ref!r} contains {path!r} more than once: re-create it from a plain folder"
        )
    files[path] = content


def _read_directory(root: Path, ref: str, budget: _Budget) -> dict[str, bytes]:
    """Read a directory tree into memory, skipping junk and refusing links and special files."""

    def fail(exc: OSError) -> NoReturn:
        raise BadAgent(
            f"cannot read {exc.filename!r} in agent directory {ref!r} ({exc.strerror}): "
            "check its permissions"
        ) from exc

    files: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root, onerror=fail):
        current = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in dirnames:
            if (current / name).is_symlink():
                rel = (current / name).relative_to(root).as_posix()
                raise BadAgent(
                    f"agent directory {ref!r} contains a symlink {rel!r}: "
                    "replace it with the real folder"
                )
        for name in sorted(filenames):
            full = current / name
            rel = full.relative_to(root).as_posix()
            path = _member_path(rel, f"file in {ref!r}:")
            if path is None or _skipped(path):
                continue
            try:
                st = full.lstat()
                if stat.S_ISLNK(st.st_mode):
                    raise BadAgent(
                        f"agent directory {ref!r} contains a symlink {rel!r}: "
                        "replace it with the real file"
                    )
                if not stat.S_ISREG(st.st_mode):
                    raise BadAgent(
                        f"agent directory {ref!r} contains {rel!r}, which is not a regular "
                        "file: remove it"
                    )
                budget.add_file(f"agent directory {ref!r}")
                budget.check_size(st.st_size)
                with full.open("rb") as fh:
                    files[path] = budget.read(fh)
            except OSError as exc:
                fail(exc)
    return files


def _read_zip(
    data: bytes, ref: str, budget: _Budget, files: dict[str, bytes], dirs: set[str]
) -> None:
    """Read a zip archive's regular files into `files`, refusing anything unsafe."""
    what = f"archive {ref!r}"
    source = _ZipSource(data, what, budget)
    try:
        with source, zipfile.ZipFile(source) as zf:
            source.listing = False
            for info in zf.infolist():
                budget.add_entry(what)
                entry = f"zip entry in {ref!r}:"
                path = _member_path(info.filename, entry)
                kind = stat.S_IFMT(info.external_attr >> 16)
                if kind == stat.S_IFLNK:
                    raise BadAgent(
                        f"{entry} {info.filename!r} is a symlink: zip the real file instead"
                    )
                if info.is_dir() or kind == stat.S_IFDIR:
                    if path is not None and not _skipped(path):
                        dirs.add(path)
                    continue
                if kind not in (0, stat.S_IFREG):
                    raise BadAgent(f"{entry} {info.filename!r} is not a regular file: remove it")
                if path is None:
                    raise BadAgent(f"{entry} a file has an empty name: rename it")
                if _skipped(path):
                    continue
                if info.flag_bits & 0x1:
                    raise BadAgent(
                        f"{entry} {info.filename!r} is encrypted: zip without a password"
                    )
                budget.add_file(what)
                budget.check_size(info.file_size)
                with zf.open(info) as fh:
                    _add(files, path, budget.read(fh), ref)
    except BadAgent:
        raise
    except NotImplementedError as exc:
        raise BadAgent(
            f"{what} uses an unsupported zip feature ({_one_line(exc)}): "
            "re-create it with standard deflate compression"
        ) from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError) as exc:
        raise BadAgent(
            f"{what} is not a valid zip archive ({_one_line(exc)}): re-create it"
        ) from exc


def _read_tar(
    data: bytes, ref: str, kind: str, budget: _Budget, files: dict[str, bytes], dirs: set[str]
) -> None:
    """Read a tar or tar.gz archive's regular files into `files`, refusing anything unsafe."""
    what = f"archive {ref!r}"
    label = "tar.gz" if kind == "tgz" else "tar"
    raw: BinaryIO = gzip.GzipFile(fileobj=io.BytesIO(data)) if kind == "tgz" else io.BytesIO(data)
    stream = _TarStream(raw, what, budget)
    try:
        with raw, tarfile.open(fileobj=stream, mode="r:") as tf:
            while True:
                stream.next_member()
                if (member := tf.next()) is None:
                    break
                tf.members.clear()  # tarfile keeps every member it read; we need this one only
                budget.add_entry(what)
                entry = f"tar entry in {ref!r}:"
                name = member.name
                path = _member_path(name, entry)
                if member.issym():
                    raise BadAgent(f"{entry} {name!r} is a symlink: archive the real file")
                if member.islnk():
                    raise BadAgent(f"{entry} {name!r} is a hard link: archive the real file")
                if member.ischr() or member.isblk():
                    raise BadAgent(f"{entry} {name!r} is a device file: remove it")
                if member.isfifo():
                    raise BadAgent(f"{entry} {name!r} is a FIFO: remove it")
                if member.isdir():
                    if path is not None and not _skipped(path):
                        dirs.add(path)
                    continue
                if not member.isreg():
                    raise BadAgent(f"{entry} {name!r} is not a regular file: remove it")
                if path is None:
                    raise BadAgent(f"{entry} a file has an empty name: rename it")
                # Moving past a member means decompressing it, so skipped files count too.
                budget.check_size(member.size)
                if _skipped(path):
                    budget.total += member.size
                    continue
                budget.add_file(what)
                fh = tf.extractfile(member)
                if fh is None:  # pragma: no cover - isreg() members always have data
                    raise BadAgent(f"{entry} {name!r} has no data: re-create the archive")
                stream.reading_data = True
                with fh:
                    _add(files, path, budget.read(fh), ref)
    except BadAgent:
        raise
    except (tarfile.TarError, zlib.error, EOFError, OSError, ValueError) as exc:
        raise BadAgent(
            f"{what} is not a valid {label} archive ({_one_line(exc)}): re-create it"
        ) from exc


def _strip_wrapper(files: dict[str, bytes]) -> dict[str, bytes]:
    """Drop a single top-level folder that wraps everything, when agent.py (or main.py) sits right
    in it."""
    if entry_file(files) is not None or not files:
        return files
    tops = {p.partition("/")[0] for p in files}
    if len(tops) != 1:
        return files
    top = tops.pop()
    if not any(f"{top}/{name}" in files for name in ENTRY_FILES):
        return files
    return {p[len(top) + 1 :]: content for p, content in files.items()}


def _check_layout(files: Mapping[str, bytes], dirs: set[str], ref: str) -> None:
    """Refuse a path that is both a file and a folder (it could not be written to disk)."""
    for path in files:
        parent = PurePosixPath(path).parent
        clash = (
            path
            if path in dirs
            else next((str(p) for p in (parent, *parent.parents) if str(p) in files), None)
        )
        if clash is not None:
            raise BadAgent(
                f"archive {ref!r} has {clash!r} both as a file and as a folder: "
                "re-create it from a plain folder"
            )


def _finish(
    ref: str,
    files: dict[str, bytes],
    dirs: set[str],
    *,
    what: str,
    builtin: str | None = None,
) -> AgentBundle:
    """Validate the collected files (layout, entry file, requirements) and build the bundle."""
    _check_layout(files, dirs, ref)
    if what == "archive":
        files = _strip_wrapper(files)
    entry = entry_file(files)
    if entry is None and files.keys() >= _SB3_MARKERS:
        raise BadAgent(
            f"{ref!r} is a Stable-Baselines3 model.zip: it holds pickled Python objects (loading "
            "it runs code) and needs PyTorch, so it is not accepted; export the policy to ONNX "
            f"and upload the {POLICY_FILE} (see the README's \"ONNX policies\")")
    if entry is None:
        nested = sorted(p for p in files if p.rpartition("/")[2] in ENTRY_FILES)
        hint = f" (found {nested[0]!r})" if nested else ""
        raise BadAgent(
            f"{what} {ref!r} has no {AGENT_FILE} at its root{hint}: put {AGENT_FILE} (or a "
            f"Kaggle agent's {KAGGLE_FILE}, or an ONNX policy's {POLICY_FILE}) at the top level "
            f"of the {what}"
        )
    if entry == POLICY_FILE:
        _check_policy_files(files, ref)
    else:
        try:
            files[entry].decode("utf-8")
        except UnicodeDecodeError:
            raise BadAgent(
                f"{entry} in {ref!r} is not valid UTF-8 text: save it with UTF-8 encoding"
            ) from None
    raw = files.get(REQUIREMENTS_FILE)
    if raw is not None:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadAgent(
                f"{REQUIREMENTS_FILE} in {ref!r} is not valid UTF-8 text: save it as UTF-8"
            ) from None
        parse_requirements(text)
    return AgentBundle(ref=ref, files=files, builtin=builtin)


def _check_policy_files(files: Mapping[str, bytes], ref: str) -> None:
    """An ONNX policy's policy.json must be valid; it has no requirements (the harness runs it
    with onnxruntime alone)."""
    try:
        parse_config(files.get(CONFIG_FILE))
    except PolicyError as exc:
        raise BadAgent(f"{exc} (in {ref!r})") from None
    if REQUIREMENTS_FILE in files:
        raise BadAgent(f"{ref!r} is an ONNX policy ({POLICY_FILE} with no {AGENT_FILE}) and has a "
                       f"{REQUIREMENTS_FILE}, which only Python agents use: remove it, or add an "
                       f"{AGENT_FILE} that loads the model itself")


def _looks_like_path(line: str) -> bool:
    """Whether a requirement line names a local file or folder rather than a PyPI project."""
    head = line.split(";", 1)[0].strip()
    return (
        head.startswith((".", "/", "~"))
        or "/" in head
        or "\\" in head
        or head.lower().endswith((".whl", ".zip", ".tar.gz", ".tgz"))
    )
