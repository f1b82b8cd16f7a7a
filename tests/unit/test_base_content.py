"""The agent base's content label (``base-content.sh``): a digest of its Debian packages, its
build recipe and its pinned wheels, so a new pin gives agents' images new tags."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from jobs.images.base import IMAGES_DIR, PINNED_WHEELS

RECIPE = ("base-content.sh", "build-base-offline.sh", PINNED_WHEELS.name)


def package(name: str, version: str) -> str:
    """One installed package's entry in dpkg's status file."""
    return (f"Package: {name}\nStatus: install ok installed\nVersion: {version}\n"
            f"Architecture: amd64\nMaintainer: Someone <a@example.org>\nDescription: {name}\n\n")


def content(images: Path, rootfs: Path) -> str:
    done = subprocess.run(["bash", str(images / "base-content.sh"), str(rootfs)],
                          capture_output=True, text=True, check=True)
    assert done.stderr == ""
    return done.stdout.strip()


def test_the_label_follows_the_packages_and_the_pinned_wheels(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for name in RECIPE:
        shutil.copy(IMAGES_DIR / name, images / name)
    status = tmp_path / "rootfs" / "var" / "lib" / "dpkg" / "status"
    status.parent.mkdir(parents=True)
    status.write_text(package("python3", "3.11.2-1") + package("python3-numpy", "1:1.24.2-1"))

    first = content(images, tmp_path / "rootfs")
    assert first.startswith("sha256:") and len(first) == len("sha256:") + 64
    assert content(images, tmp_path / "rootfs") == first

    pins = images / PINNED_WHEELS.name
    pins.write_text(pins.read_text().replace("onnxruntime==", "onnxruntime==9"))
    repinned = content(images, tmp_path / "rootfs")
    assert repinned != first

    status.write_text(package("python3", "3.11.2-6") + package("python3-numpy", "1:1.24.2-1"))
    assert content(images, tmp_path / "rootfs") not in {first, repinned}


def test_the_wheels_are_pinned_by_hash():
    lines = [line for line in PINNED_WHEELS.read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines and all("==" in line and " --hash=sha256:" in line for line in lines)
    assert any(line.startswith("onnxruntime==") for line in lines)
