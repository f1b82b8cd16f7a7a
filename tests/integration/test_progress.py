"""Progress on long work: `play --games N`, `images build-base`, `ratings rebuild` feed a bar
drawn on stderr when it is a terminal, and nothing when it is not."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading

from click.testing import CliRunner

from jobs.images.base import run_reporting
from rl_arena_app.cli import main
from rl_arena_app.services.ratings import refresh
from tests.support.ratings import play_history, snapshot

PLAY = [sys.executable, "-m", "rl_arena_app.cli", "play", "connect_four", "builtin:lookahead",
        "builtin:random", "--sandbox", "inprocess", "--games", "12", "--json"]


def run_with_terminal_stderr(command: list[str]) -> tuple[int, str, bytes]:
    """Run ``command`` with stderr on a pseudo-terminal and stdout on a pipe; its exit code,
    stdout and everything written to the terminal."""
    master, slave = pty.openpty()
    drawn = bytearray()

    def read_terminal() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                return
            if not chunk:
                return
            drawn.extend(chunk)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=slave, text=True,
                          env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
                          ) as process:
        os.close(slave)
        out, _ = process.communicate(timeout=240)
    reader.join(30)
    os.close(master)
    return process.returncode, out, bytes(drawn)


def test_play_draws_a_bar_on_a_terminal_and_keeps_stdout_one_json_object():
    code, out, drawn = run_with_terminal_stderr(PLAY)

    assert code == 0, drawn.decode(errors="replace")
    assert len(json.loads(out)["games"]) == 12  # stdout: the JSON alone
    text = drawn.decode(errors="replace")
    assert "games" in text and "12/12" in text, text


def test_play_into_a_pipe_draws_nothing():
    done = subprocess.run(PLAY, capture_output=True, text=True, timeout=240, check=False)

    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and len(json.loads(done.stdout)["games"]) == 12


def test_rebuild_reports_its_games_chunk_by_chunk_and_stays_exact(platform, monkeypatch):
    play_history()  # 60 games
    before = snapshot()
    monkeypatch.setattr(refresh, "REBUILD_CHUNK", 25)
    told: list[tuple[int, int]] = []

    assert refresh.rebuild_ratings("tictactoe", progress=lambda *done: told.append(done)) == 60

    assert told == [(0, 60), (25, 60), (50, 60), (60, 60)]
    assert snapshot() == before
    done = CliRunner().invoke(main, ["ratings", "rebuild", "tictactoe"])
    assert done.exit_code == 0 and "ratings rebuilt from 60 game(s)" in done.output


def test_the_base_image_build_hands_on_each_line_of_its_output():
    told: list[str] = []
    script = "echo 'I: Retrieving python3' >&2; echo; echo 'I: Extracting' >&2; exit 3"

    code, tail = run_reporting(["bash", "-c", script], told.append)

    assert code == 3
    assert told == tail == ["I: Retrieving python3", "I: Extracting"]
