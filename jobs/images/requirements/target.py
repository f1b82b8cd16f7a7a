"""What pip installs agents' requirements for: the sandbox's interpreter and platforms, pinned
wheels, and the allow-listed environment pip runs in.

pip expands ``${VAR}`` and reads its configuration from the environment, so it must never see a
platform secret: it gets a fixed PATH, a fresh HOME, and the operator's index, proxy and CA
variables only.
"""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path

PIP_PATH = "/usr/bin:/bin"
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
PROJECT_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")  # a name pip printed


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
