"""Running pip for an agent's requirements: resolve them to pinned wheels, install exactly those.

What pip prints goes to the worker's log only; a failure becomes a summary for the submitter
(``failures.pip_failure``).
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from packaging.version import Version

from jobs.images.requirements.failures import pip_failure
from jobs.images.requirements.target import PROJECT_NAME, Pin, Target, pip_environment
from rl_arena_app.arena.bundle import parse_requirements
from rl_arena_app.core.text import printable
from rl_arena_app.errors import InfrastructureError

log = logging.getLogger(__name__)

PIP_TIMEOUT_S = 1200
PROBE_TIMEOUT_S = 60
LOG_OUTPUT_CHARS = 8000  # of pip's output, in the worker's log
_SHA256 = re.compile(r"[0-9a-f]{64}")


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
    if not PROJECT_NAME.fullmatch(name) or (sha256 is not None and not _SHA256.fullmatch(sha256)):
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
