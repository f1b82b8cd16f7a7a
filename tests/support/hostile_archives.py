"""Hostile agent archives of any size, built in milliseconds (shared by tests and bench).

Each builder takes ``size``, the bytes the archive should about take (the upload limit is 50 MB
by default), and returns the archive's bytes. Gigabytes of zeros are made by repeating one
compressed block: gzip members concatenate, and deflate blocks flushed whole repeat byte for byte.
"""

from __future__ import annotations

import gzip
import struct
import tarfile
import zlib
from collections.abc import Callable

AGENT = b"def act(observation, info):\n    return 0\n"
_BLOCK = 16 * 1024 * 1024
_ZEROS_GZ = gzip.compress(bytes(_BLOCK), compresslevel=9, mtime=0)  # 16 MiB in about 16 KB


def _repeat_gz(member: bytes, size: int) -> bytes:
    """Gzip members repeated to about ``size`` bytes (at least once)."""
    return member * max(1, size // len(member))


def _header(name: str, kind: bytes, size: int) -> bytes:
    """One tar header (GNU format: sizes past 8 GiB in base-256) of type ``kind``."""
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mtime = kind, size, 0
    return info.tobuf(tarfile.GNU_FORMAT)


def _declared_huge(kind: bytes) -> Callable[[int], bytes]:
    def build(size: int) -> bytes:
        blocks = max(1, (size - 64) // len(_ZEROS_GZ))
        head = gzip.compress(_header("././@LongLink", kind, blocks * _BLOCK), mtime=0)
        return head + _ZEROS_GZ * blocks
    build.__doc__ = (f"A .tar.gz whose first header (type {kind!r}) declares all the zeros "
                     "that follow as its data: about 1000 times the archive's size.")
    return build


gnu_long_name = _declared_huge(tarfile.GNUTYPE_LONGNAME)
gnu_long_link = _declared_huge(tarfile.GNUTYPE_LONGLINK)
pax_header = _declared_huge(tarfile.XHDTYPE)
pax_global_header = _declared_huge(tarfile.XGLTYPE)


def sparse_map(size: int) -> bytes:
    """A .tar.gz whose GNU sparse 1.0 map claims 10^11 regions, then repeats "0\\n" forever."""
    records = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "agent.py",
               "GNU.sparse.realsize": "10"}
    pax = tarfile.TarInfo("pax")
    head = pax._create_pax_generic_header(records, tarfile.XHDTYPE, "utf-8")
    head += _header("agent.py", tarfile.REGTYPE, 1 << 40)
    head += b"99999999999\n"
    zeros = gzip.compress(b"0\n" * (_BLOCK // 2), compresslevel=9, mtime=0)
    first = gzip.compress(head, mtime=0)
    return first + _repeat_gz(zeros, size - len(first))


def empty_entries_tar_gz(size: int) -> bytes:
    """A .tar.gz of millions of empty folder entries (32,768 in every 16 KB)."""
    member = gzip.compress(_header("d/", tarfile.DIRTYPE, 0) * 32768, compresslevel=9, mtime=0)
    return gzip.compress(_header("agent.py", tarfile.REGTYPE, len(AGENT)) + AGENT.ljust(512, b"\0"),
                         mtime=0) + _repeat_gz(member, size)


def huge_member_tar_gz(size: int) -> bytes:
    """A .tar.gz holding agent.py and one regular file that declares 1 TiB of zeros."""
    head = _header("agent.py", tarfile.REGTYPE, len(AGENT)) + AGENT.ljust(512, b"\0")
    head += _header("zeros.bin", tarfile.REGTYPE, 1 << 40)
    first = gzip.compress(head, mtime=0)
    return first + _repeat_gz(_ZEROS_GZ, size - len(first))


# ------------------------------------------------------------------------------------------ zip

_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_END64 = struct.Struct("<4sQ2H2L4Q")
_LOCATOR = struct.Struct("<4sLQL")


def _zip(entries: list[tuple[bytes, bytes, int, int]], *, count: int | None = None,
         directory_size: int | None = None, zip64: bool = False) -> bytes:
    """A zip of (name, data, method, declared size) entries, its end record as told."""
    body, central = bytearray(), bytearray()
    for name, data, method, declared in entries:
        offset, crc = len(body), zlib.crc32(data) if method == 0 else 0  # a bomb's is never seen
        body += _LOCAL.pack(b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(data), declared,
                            len(name), 0) + name + data
        central += _CENTRAL.pack(b"PK\x01\x02", 20, 20, 0, method, 0, 0, crc, len(data),
                                 declared, len(name), 0, 0, 0, 0, 0, offset) + name
    start = len(body)
    size = len(central) if directory_size is None else directory_size
    total = len(entries) if count is None else count
    end = b""
    if zip64:
        end += _END64.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, total, total, size, start)
        end += _LOCATOR.pack(b"PK\x06\x07", 0, start + len(central), 1)
        end += _END.pack(b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        end += _END.pack(b"PK\x05\x06", 0, 0, total & 0xFFFF, total & 0xFFFF,
                         min(size, 0xFFFFFFFF), start, 0)
    return bytes(body + central + end)


def _empties(size: int) -> list[tuple[bytes, bytes, int, int]]:
    """agent.py, then empty stored files to about ``size`` bytes (90 bytes each)."""
    count = max(1, size // 90)
    return [(b"agent.py", AGENT, 0, len(AGENT))] + [(b"%07d" % i, b"", 0, 0)
                                                    for i in range(count)]


def empty_entries_zip(size: int) -> bytes:
    """A zip of empty files: 300,000 of them is 27 MB."""
    return _zip(_empties(size))


def lying_count_zip(size: int) -> bytes:
    """Empty files, the end record saying there is one entry."""
    return _zip(_empties(size), count=1)


def lying_size_zip(size: int) -> bytes:
    """Empty files, the end record saying the directory runs to 4 GiB."""
    return _zip(_empties(size), directory_size=0xFFFFFFFF)


def zip64_zip(size: int) -> bytes:
    """Empty files behind zip64 end records that claim 2^40 entries."""
    return _zip(_empties(size), count=1 << 40, zip64=True)


def deflate_bomb_zip(size: int) -> bytes:
    """agent.py and one deflated member of zeros, as large as ``size`` allows, declaring 1 KB."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = squeeze.compress(bytes(_BLOCK)) + squeeze.flush(zlib.Z_FULL_FLUSH)
    again = squeeze.compress(bytes(_BLOCK)) + squeeze.flush(zlib.Z_FULL_FLUSH)
    data = first + again * max(1, (size - len(first)) // len(again)) + squeeze.flush()
    return _zip([(b"agent.py", AGENT, 0, len(AGENT)), (b"zeros.bin", data, 8, 1000)])


def pax_digits(size: int) -> bytes:
    """A .tar.gz of members whose pax records hold 60 KB of digits (CPython's tarfile before
    3.11.10 searches those in quadratic time, about 4 s a member): 300 of them, past the header
    budget, in a few KB whatever ``size`` is."""
    records = tarfile.TarInfo("pax")._create_pax_generic_header(
        {"comment": "1" * 60_000}, tarfile.XHDTYPE, "utf-8")
    members = b"".join(records + _header(f"data{k}.txt", tarfile.REGTYPE, 0) for k in range(300))
    return gzip.compress(members + _header("agent.py", tarfile.REGTYPE, 0), mtime=0)


HOSTILE: dict[str, tuple[str, Callable[[int], bytes]]] = {
    "gnu-long-name": ("agent.tar.gz", gnu_long_name),
    "gnu-long-link": ("agent.tar.gz", gnu_long_link),
    "pax-header": ("agent.tar.gz", pax_header),
    "pax-global-header": ("agent.tar.gz", pax_global_header),
    "sparse-map": ("agent.tar.gz", sparse_map),
    "pax-digits": ("agent.tar.gz", pax_digits),
    "empty-tar-entries": ("agent.tar.gz", empty_entries_tar_gz),
    "huge-tar-member": ("agent.tar.gz", huge_member_tar_gz),
    "empty-zip-entries": ("agent.zip", empty_entries_zip),
    "zip-lying-count": ("agent.zip", lying_count_zip),
    "zip-lying-size": ("agent.zip", lying_size_zip),
    "zip64-records": ("agent.zip", zip64_zip),
    "deflate-bomb": ("agent.zip", deflate_bomb_zip),
}
