"""pip's failures told to submitters: a platform fault (retried) or the requirement at fault and
the kind of fault, repeating nothing of pip's output but names and versions of strict shape."""

from __future__ import annotations

import contextlib
import platform
import re
from collections.abc import Sequence

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from jobs.images.requirements.target import PROJECT_NAME, Target
from rl_arena_app.arena.bundle import parse_requirements
from rl_arena_app.errors import BadAgent, InfrastructureError

# What pip prints when the index, the network or the host failed rather than the request.
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
        return canonicalize_name(head[0]) if head and PROJECT_NAME.fullmatch(head[0]) else None


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
