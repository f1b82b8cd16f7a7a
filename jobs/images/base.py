"""The agent base image (Python + numpy): built offline with debootstrap, or from Docker Hub."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Literal

import docker.errors

from rl_arena_app.arena.outcomes import InfrastructureError

IMAGES_DIR = Path(__file__).parent
Method = Literal["auto", "offline", "hub"]


def base_image_exists(client: docker.DockerClient, tag: str) -> bool:
    """Whether the base image is already in the engine."""
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def build_base_image(client: docker.DockerClient, tag: str, method: Method = "auto") -> str:
    """Build the base image; `auto` prefers debootstrap (no registry needed) when it is there."""
    if method == "auto":
        method = "offline" if shutil.which("debootstrap") else "hub"
    if method == "offline":
        script = IMAGES_DIR / "build-base-offline.sh"
        done = subprocess.run(["bash", str(script), tag], stdout=subprocess.DEVNULL,
                              stderr=sys.stderr, check=False)
        if done.returncode != 0:
            raise InfrastructureError(f"offline base image build failed ({script}); "
                                      "it needs root, debootstrap and a Debian mirror")
        return tag
    try:
        client.images.build(path=str(IMAGES_DIR), dockerfile="Dockerfile.hub", tag=tag, rm=True)
    except (docker.errors.BuildError, docker.errors.APIError) as exc:
        raise InfrastructureError(f"base image build from Docker Hub failed: {exc}; "
                                  "without a registry, install debootstrap and use --offline"
                                  ) from None
    return tag


def ensure_base_image(client: docker.DockerClient, tag: str, method: Method = "auto") -> str:
    """Build the base image only if it is missing."""
    if base_image_exists(client, tag):
        return tag
    return build_base_image(client, tag, method)
