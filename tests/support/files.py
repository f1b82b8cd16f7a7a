"""Agent files the tests upload or submit: written to disk, or packed in a zip or a .tar.gz."""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Mapping
from pathlib import Path


def write(path: Path, text: str) -> str:
    """Write ``text`` to ``path``; the path as a string (what `submit` takes)."""
    path.write_text(text)
    return str(path)


def zip_bytes(files: Mapping[str, str | bytes], symlinks: dict[str, str] | None = None) -> bytes:
    """A zip of ``files`` (and of symlinks: name -> target)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            archive.writestr(info, target)
    return buffer.getvalue()


def zip_file(path: Path, files: Mapping[str, str | bytes]) -> str:
    """A zip of ``files`` written to ``path``; the path as a string."""
    path.write_bytes(zip_bytes(files))
    return str(path)


def tgz_bytes(files: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    """A .tar.gz of ``files`` (and of symlinks: name -> target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()
