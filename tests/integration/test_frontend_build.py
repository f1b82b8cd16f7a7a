"""Building the dashboard leaves the checkout as it was.

A fresh Reflex build rewrites `.gitignore` (adding what it wants ignored) and persists
`reflex.lock/` (package.json, bun.lock) in its own format: the committed copies must already be
what it writes, so that `make run`, `make image` and the test suite leave `git status` clean.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def git(*args: str) -> list[str]:
    """The NUL-separated paths a git command prints, run in the checkout."""
    done = subprocess.run(["git", *args, "-z"], cwd=ROOT, capture_output=True, check=True)
    return [p for p in done.stdout.decode().split("\0") if p]


def checkout_state() -> dict[str, str | None]:
    """Every tracked file's content hash (None when missing) and every untracked path that no
    .gitignore covers."""
    state: dict[str, str | None] = {}
    for path in git("ls-files"):
        file = ROOT / path
        state[path] = hashlib.sha256(file.read_bytes()).hexdigest() if file.is_file() else None
    state.update({f"untracked: {p}": "" for p in git("ls-files", "--others",
                                                     "--exclude-standard")})
    return state


def in_git_checkout() -> bool:
    done = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    return done.returncode == 0 and done.stdout.strip() == "true"


@pytest.mark.slow
@pytest.mark.may_skip_in_ci(reason="a source tree without git has no tracked files to compare")
def test_a_fresh_build_of_the_dashboard_leaves_tracked_files_untouched(tmp_path):
    if not in_git_checkout():
        pytest.skip("not a git checkout: nothing tracked to compare")
    before = checkout_state()
    # A fresh web folder: Reflex initialises it as on a new machine (that is when it writes
    # .gitignore), without disturbing the checkout's own build.
    env = {**os.environ, "REFLEX_WEB_WORKDIR": str(tmp_path / ".web"),
           "RL_ARENA_DATA_DIR": str(tmp_path / "arena")}

    try:
        done = subprocess.run([sys.executable, "-m", "rl_arena_app.cli", "web", "--build-only"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                              check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        assert (tmp_path / ".web" / "build" / "client" / "index.html").is_file()
    finally:
        shutil.rmtree(tmp_path / ".web", ignore_errors=True)  # its node_modules: 400 MB
    after = checkout_state()
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    assert not changed, f"the build changed the checkout: {changed}"
