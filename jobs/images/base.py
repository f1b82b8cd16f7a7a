"""The agent base image (Python + numpy + the pinned wheels, onnxruntime): built offline with
debootstrap, or from Docker Hub."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import docker.errors

from rl_arena_app.errors import InfrastructureError

IMAGES_DIR = Path(__file__).parent
# The wheels both recipes add, pinned by hash (part of the offline base's content label).
PINNED_WHEELS = IMAGES_DIR / "agent-base-wheels.txt"
Method = Literal["auto", "offline", "hub"]
# Told each line of the build's output (debootstrap's "I: Retrieving ...") as it comes.
BuildProgress = Callable[[str], None]
TAIL_LINES = 20  # of the build's output, kept for the error when it fails
# The offline build's own knobs, the ways to a Debian mirror (proxies) and to the Docker engine.
BUILD_PASSTHROUGH = frozenset({
    "RL_ARENA_DEBIAN_SUITE", "RL_ARENA_DEBIAN_MIRROR", "TMPDIR",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_CONTEXT",
    # Where the operator's pip finds the pinned wheels (what it installs, and where, is ours).
    "PIP_CONFIG_FILE", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX",
    "PIP_TRUSTED_HOST", "PIP_CERT", "PIP_CLIENT_CERT", "PIP_PROXY", "PIP_DEFAULT_TIMEOUT",
    "PIP_RETRIES",
})


def base_image_exists(client: docker.DockerClient, tag: str) -> bool:
    """Whether the base image is already in the engine."""
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def build_base_image(client: docker.DockerClient, tag: str, method: Method = "auto",
                     progress: BuildProgress | None = None) -> str:
    """Build the base image; `auto` prefers debootstrap (no registry needed) when it is there.

    The build's output goes to stderr, or, given ``progress``, line by line to it (the last
    lines come with the error when the build fails).
    """
    if method == "auto":
        method = "offline" if shutil.which("debootstrap") else "hub"
    if method == "offline":
        script = IMAGES_DIR / "build-base-offline.sh"
        # Our interpreter's pip fetches the pinned wheels (Debian's python3 in the root has none).
        command = ["bash", str(script), tag, sys.executable]
        if progress is None:
            failed = subprocess.run(command, stdout=subprocess.DEVNULL,
                                    stderr=sys.stderr, env=build_environment(),
                                    check=False).returncode != 0
            tail = ""
        else:
            code, lines = run_reporting(command, progress)
            failed, tail = code != 0, "".join(f"\n  {line}" for line in lines)
        if failed:
            raise InfrastructureError(f"offline base image build failed ({script}); "
                                      f"it needs root, debootstrap, a Debian mirror and pip's "
                                      f"index for {PINNED_WHEELS.name}{tail}")
        return tag
    if progress is not None:
        progress(f"building {tag} from Docker Hub (Dockerfile.hub)")
    try:
        client.images.build(path=str(IMAGES_DIR), dockerfile="Dockerfile.hub", tag=tag, rm=True)
    except (docker.errors.BuildError, docker.errors.APIError) as exc:
        raise InfrastructureError(f"base image build from Docker Hub failed: {exc}; "
                                  "without a registry, install debootstrap and use --offline"
                                  ) from None
    return tag


def build_environment() -> dict[str, str]:
    """What the offline build sees of ours: a fixed PATH, a UTF-8 locale, and the variables that
    reach the Debian mirror and the Docker engine (``BUILD_PASSTHROUGH``); no setting or secret
    of the platform."""
    env = {name: value for name, value in os.environ.items() if name in BUILD_PASSTHROUGH}
    env.update(PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               LANG="C.UTF-8", LC_ALL="C.UTF-8")
    return env


def run_reporting(command: Sequence[str], progress: BuildProgress) -> tuple[int, list[str]]:
    """Run ``command``, handing each line it writes to stderr to ``progress``; its exit code and
    its last lines."""
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          errors="replace", env=build_environment()) as process:
        assert process.stderr is not None
        for raw in process.stderr:
            line = raw.rstrip()
            if line:
                tail.append(line)
                progress(line)
    return process.returncode, list(tail)


def ensure_base_image(client: docker.DockerClient, tag: str, method: Method = "auto") -> str:
    """Build the base image only if it is missing."""
    if base_image_exists(client, tag):
        return tag
    return build_base_image(client, tag, method)
