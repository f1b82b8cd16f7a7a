"""Hostile archives up to the upload limit are refused within a fixed memory bound.

tracemalloc's peak is deterministic; the RSS test checks the same from outside, in a fresh
process. Time is measured in bench/archive_bench.py, not here.
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import tarfile
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from rl_arena_app.arena.bundle import BundleLimits, bundle_from_bytes
from rl_arena_app.errors import BadAgent
from tests.support.hostile_archives import AGENT, HOSTILE

UPLOAD = 50 * 1024 * 1024
LIMITS = BundleLimits(max_upload_bytes=UPLOAD, max_total_bytes=64 << 20)  # the defaults of submit
PEAK_BOUND = 8 << 20  # bytes Python may allocate while refusing any hostile archive
RSS_BOUND_MIB = 32  # growth of the process's peak RSS while refusing one (tens of MiB of slack)
SIZES = [1_000_000, UPLOAD - 64 * 1024]  # a small upload, and one just under the limit


def cap_address_space() -> None:
    """A child's address space: 4 GiB, so that a regression fails instead of eating the host."""
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def peak_while_refusing(data: bytes, name: str) -> tuple[int, BadAgent]:
    """The tracemalloc peak of reading ``data`` as upload ``name``, which must be refused."""
    tracemalloc.start()
    try:
        with pytest.raises(BadAgent) as refused:
            bundle_from_bytes(data, ref=name, limits=LIMITS)
        return tracemalloc.get_traced_memory()[1], refused.value
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("size", SIZES, ids=["1MB", "50MB"])
@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_archive_is_refused_within_a_fixed_memory_bound(case: str, size: int) -> None:
    name, build = HOSTILE[case]
    data = build(size)
    assert len(data) <= UPLOAD

    peak, refusal = peak_while_refusing(data, name)

    assert peak < PEAK_BOUND, f"{case}: {peak / 2**20:.1f} MiB"
    assert ": " in str(refusal) and "\n" not in str(refusal)


def test_refusals_name_what_is_wrong() -> None:
    said = {case: str(peak_while_refusing(build(1_000_000), name)[1])
            for case, (name, build) in HOSTILE.items()}

    for case in ("gnu-long-name", "gnu-long-link", "pax-header", "pax-global-header",
                 "sparse-map"):
        assert "has a tar header over 64 KiB" in said[case], said[case]
    for case in ("empty-tar-entries", "empty-zip-entries", "zip-lying-count", "zip64-records"):
        assert "has more than 8000 entries" in said[case], said[case]
    assert "more than 64.0 MiB uncompressed" in said["huge-tar-member"]


def test_a_huge_zip_directory_is_refused_before_it_is_read() -> None:
    data = HOSTILE["empty-zip-entries"][1](UPLOAD - 64 * 1024)
    peak, refusal = peak_while_refusing(data, "agent.zip")
    assert "has a zip central directory over" in str(refusal)
    assert peak < 1 << 20


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_fresh_process_refusing_one_grows_its_rss_within_a_bound(case: str,
                                                                   tmp_path: Path) -> None:
    name, build = HOSTILE[case]
    archive = tmp_path / name
    archive.write_bytes(build(UPLOAD - 64 * 1024))
    script = (
        "import json, resource, sys\n"
        "from rl_arena_app.arena.bundle import BundleLimits, bundle_from_bytes\n"
        "from rl_arena_app.errors import BadAgent\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        "    bundle_from_bytes(data, ref=sys.argv[2], limits=BundleLimits(\n"
        "        max_upload_bytes=50 << 20, max_total_bytes=64 << 20))\n"
        "except BadAgent:\n"
        "    pass\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps((after - before) / 1024))\n")
    done = subprocess.run([sys.executable, "-c", script, str(archive), name], check=True,
                          capture_output=True, text=True, timeout=300,
                          preexec_fn=cap_address_space)

    assert json.loads(done.stdout) < RSS_BOUND_MIB


# ------------------------------------------------------------------- legit archives still read


def test_long_names_through_gnu_and_pax_headers_still_read() -> None:
    deep = "/".join(["folder-" + "x" * 40] * 20) + "/weights.npy"  # 961 bytes
    for form in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz", format=form) as tar:
            for path, content in (("agent.py", AGENT), (deep, b"\x93NUMPY")):
                info = tarfile.TarInfo(path)
                info.size = len(content)
                info.pax_headers = {"comment": "é" * 300} if form == tarfile.PAX_FORMAT else {}
                tar.addfile(info, io.BytesIO(content))
        bundle = bundle_from_bytes(buffer.getvalue(), ref="agent.tgz", limits=LIMITS)
        assert bundle.files[deep] == b"\x93NUMPY"


def test_an_archive_of_the_most_files_allowed_still_reads() -> None:
    files = {"agent.py": AGENT} | {f"data/part{i:04d}.txt": b"%d" % i for i in range(1999)}
    for kind in ("zip", "tgz"):
        buffer = io.BytesIO()
        if kind == "zip":
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path, content in files.items():
                    archive.writestr(path, content)
        else:
            with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
                for path, content in files.items():
                    info = tarfile.TarInfo(path)
                    info.size = len(content)
                    tar.addfile(info, io.BytesIO(content))
        bundle = bundle_from_bytes(buffer.getvalue(), ref=f"agent.{kind}", limits=LIMITS)
        assert len(bundle.files) == 2000


@pytest.mark.timeout(60)  # a hang guard, not a speed test: the old code takes about 20 minutes
def test_pax_records_of_long_numbers_are_refused_before_tarfile_searches_them() -> None:
    _, refusal = peak_while_refusing(HOSTILE["pax-digits"][1](0), "agent.tar.gz")
    assert "a number of more than 20 digits" in str(refusal)
