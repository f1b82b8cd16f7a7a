"""Hostile archives: peak memory and time of refusing each, this tree against another.

Every case (tests/support/hostile_archives.py) runs in a fresh process under an address-space
cap: its tracemalloc peak, its RSS growth (ru_maxrss after minus before the read), its time and
how it ended. Give ``--old PATH`` (e.g. ``git archive main | tar -x -C /tmp/old``) to run the same
cases against that tree too; the old code may need a smaller ``--old-size`` to finish at all.

Prints one JSON object. Usage:
    python bench/archive_bench.py [--size 50000000] [--cases gnu-long-name,...]
                                  [--old /tmp/old --old-size 1000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.hostile_archives import HOSTILE  # noqa: E402

CAP_BYTES = 8 << 30  # address space of one case: enough for the old code to show its appetite
TIMEOUT_S = 300
# Runs in the case's process: the tree under test first on sys.path, the archive from a file.
CHILD = """\
import json, resource, sys, time, tracemalloc
sys.path.insert(0, sys.argv[1])
from rl_arena_app.arena.bundle import BundleLimits, bundle_from_bytes
data = open(sys.argv[2], "rb").read()
limits = BundleLimits(max_upload_bytes=50 << 20, max_total_bytes=64 << 20)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
measure = sys.argv[4] == "tracemalloc"
if measure:
    tracemalloc.start()
started = time.perf_counter()
try:
    bundle_from_bytes(data, ref=sys.argv[3], limits=limits)
    outcome = "accepted"
except MemoryError:
    outcome = "MemoryError"
except Exception as exc:
    outcome = type(exc).__name__ + ": " + str(exc)[:90]
seconds = time.perf_counter() - started
peak = tracemalloc.get_traced_memory()[1] if measure else None
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"outcome": outcome, "seconds": round(seconds, 3),
                  "tracemalloc_peak_mib": None if peak is None else round(peak / 2**20, 1),
                  "rss_growth_mib": round((after - before) / 1024, 1)}))
"""


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CAP_BYTES, CAP_BYTES))


def run_case(tree: Path, archive: Path, name: str, how: str) -> dict:
    """One case in a fresh, capped process."""
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, str(tree), str(archive), name, how],
                              capture_output=True, text=True, preexec_fn=_cap,
                              timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return {"outcome": f"still running after {TIMEOUT_S} s (killed)"}
    if done.returncode != 0:
        return {"outcome": f"process died ({done.returncode}): {done.stderr.strip()[-120:]}"}
    return json.loads(done.stdout)


def bench(tree: Path, size: int, folder: Path, cases: list[str]) -> dict:
    """Each case against ``tree``: time and RSS untraced, then the tracemalloc peak."""
    results = {}
    for case in cases:
        name, build = HOSTILE[case]
        archive = folder / f"{case}-{size}"
        if not archive.exists():
            archive.write_bytes(build(size))
        timed = run_case(tree, archive, name, "plain")
        traced = run_case(tree, archive, name, "tracemalloc")
        results[case] = {"archive_mb": round(archive.stat().st_size / 1e6, 2), **timed,
                         "tracemalloc_peak_mib": traced.get("tracemalloc_peak_mib")}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=50_000_000, help="archive bytes (new)")
    parser.add_argument("--old", type=Path, help="another source tree to compare with")
    parser.add_argument("--old-size", type=int, default=1_000_000, help="archive bytes (old)")
    parser.add_argument("--cases", default=",".join(HOSTILE), help="comma-separated cases")
    args = parser.parse_args()
    cases = args.cases.split(",")
    with tempfile.TemporaryDirectory(prefix="archive-bench-") as tmp:
        report = {"address_space_cap_gib": CAP_BYTES >> 30, "timeout_s": TIMEOUT_S,
                  "new": {"size": args.size, "cases": bench(ROOT, args.size, Path(tmp), cases)}}
        if args.old is not None:
            report["old"] = {"size": args.old_size,
                             "cases": bench(args.old, args.old_size, Path(tmp), cases)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
