"""`rl-arena ratings fit FILE.csv` on bad files: exit 2 and one line `FILE:LINE: what, how`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rl_arena_app.cli import main

RL_ARENA = Path(sys.executable).with_name("rl-arena")
HEADER = b"a,b,score_a\n"


def fit(path: Path, *options: str) -> tuple[int, str, str]:
    """Run the command in-process; return exit code, stdout and stderr."""
    result = CliRunner().invoke(main, ["ratings", "fit", str(path), *options])
    return result.exit_code, result.stdout, result.stderr


def assert_refused(path: Path, line: int, *phrases: str) -> str:
    """Exit 2 with exactly one line naming FILE:LINE and saying each phrase."""
    code, out, err = fit(path)
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {path}:{line}: "), lines[0]
    for phrase in phrases:
        assert phrase in lines[0]
    assert "Traceback" not in err and out == ""
    return lines[0]


@pytest.mark.parametrize(("body", "line", "phrases"), [
    (b"x,y,1\nx,x,1\n", 3, ["'x' plays itself", "different players"]),
    (b"x,y,1\nx, x ,0\n", 3, ["plays itself"]),  # spaces around a field are dropped
    (b"x,y,1\n,y,1\n", 3, ["the a id is empty"]),
    (b"x,   ,0.5\n", 2, ["the b id is empty"]),
    (b"x,y,1\nx,y\n", 3, ["expected 3 fields", "got 2"]),
    (b"x,y,1,late\n", 2, ["expected 3 fields", "got 4"]),
    (b"x,y,2\n", 2, ["score_a must be 1", "'2'"]),
    (b"x,y,nan\n", 2, ["score_a must be 1"]),
    (b"x,y,1\nx\x1b[2J,y,1\n", 3, ["control character U+001B", "printable"]),
    (b"x,y,1\nx\x00y,y,1\n", 3, ["control character U+0000"]),
    (b"x,y,1\nx\xe2\x80\xaey,y,1\n", 3, ["control character U+202E"]),  # right-to-left override
    (b"x,y,1\n\"x,y,1\nz,w,0\n", 3, ["runs over several lines", "quote"]),
    (b"x,y,1\n" + b"q" * 201 + b",y,1\n", 3, ["201 characters", "at most 200"]),
], ids=["self-play", "self-play-spaced", "empty-a", "blank-b", "short-row", "long-row",
        "score-2", "score-nan", "escape-in-id", "nul-in-id", "bidi-in-id", "unclosed-quote",
        "id-201-chars"])
def test_a_bad_row_is_refused_with_its_line(tmp_path: Path, body: bytes, line: int,
                                            phrases: list[str]) -> None:
    path = tmp_path / "games.csv"
    path.write_bytes(HEADER + body)
    assert_refused(path, line, *phrases)


def test_a_huge_field_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / "games.csv"
    path.write_bytes(HEADER + b"x,y,1\n" + b"x" * 200_000 + b",y,1\n")
    message = assert_refused(path, 3, "longer than", "at most 200")
    assert len(message) < 300


def test_a_long_score_is_shown_cut(tmp_path: Path) -> None:
    path = tmp_path / "games.csv"
    path.write_bytes(HEADER + b"x,y," + b"9" * 5000 + b"\n")
    assert len(assert_refused(path, 2, "score_a must be 1", "...")) < 300


@pytest.mark.parametrize(("data", "line", "phrases"), [
    (HEADER + b"x,y,1\ny,z,0\nz,\xe9t\xe9,1\n", 4, ["not UTF-8", "0xe9", "save the file as UTF-8"]),
    ("a,b,score_a\nx,y,1\n".encode("utf-16"), 1, ["UTF-16", "UTF-8"]),
    (b"", 1, ["empty", "header a,b,score_a"]),
    (b"\n\n", 1, ["empty"]),
    (b"x,y,1\n", 1, ["header a,b,score_a", "missing a,b,score_a"]),
    (b"\n\na,b,score\n", 3, ["missing score_a"]),
    (b"a,b,a,score_a\n", 1, ["names a more than once"]),
    (HEADER, 2, ["no games after the header"]),
    (HEADER + b"\n,,\n", 4, ["no games"]),
], ids=["latin-1", "utf-16", "empty", "only-blank-lines", "no-header", "header-typo",
        "header-twice", "header-only", "header-and-blank-rows"])
def test_a_bad_file_is_refused_with_a_line(tmp_path: Path, data: bytes, line: int,
                                           phrases: list[str]) -> None:
    path = tmp_path / "games.csv"
    path.write_bytes(data)
    assert_refused(path, line, *phrases)


def test_an_unreadable_file_is_refused() -> None:
    # Reading this process's memory from offset 0 fails with EIO, even for root.
    assert_refused(Path("/proc/self/mem"), 1, "cannot read the file")


def test_line_numbers_count_blank_lines_and_quoted_line_breaks(tmp_path: Path) -> None:
    path = tmp_path / "games.csv"
    path.write_bytes(b"\r\n" + HEADER + b'x,y,1\n\n"note, with comma",y,0\nz,z,1\n')
    assert_refused(path, 6, "'z' plays itself")


def test_bom_crlf_blank_rows_spaces_and_extra_columns_are_read(tmp_path: Path) -> None:
    path = tmp_path / "games.csv"
    rows = ["\ufeffround, a ,b,score_a", "1, x , y ,1", "", "2,x,\"z, the third\",0.5",
            " , , , ", "3,y,\"z, the third\",1.0", ""]
    path.write_bytes("\r\n".join(rows).encode("utf-8"))
    code, out, err = fit(path, "--method", "bt", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["games"] == 3
    assert sorted(r["id"] for r in result["ratings"]) == ["x", "y", "z, the third"]
    for row in result["ratings"]:
        assert row["ci_low"] < row["rating"] < row["ci_high"]  # Laplace by default, not 0 wide


def test_bootstrap_rounds_are_zero_or_enough(tmp_path: Path) -> None:
    path = tmp_path / "games.csv"
    path.write_bytes(HEADER + b"x,y,1\ny,z,1\nz,x,0.5\n" * 5)
    code, _, err = fit(path, "--method", "bt", "--bootstrap", "5")
    assert code == 2 and err.count("\n") == 1
    assert "--bootstrap 5" in err and "at least 10" in err
    code, out, err = fit(path, "--method", "bt", "--bootstrap", "20", "--json")
    assert code == 0, err
    assert all(r["ci_high"] - r["ci_low"] > 0 for r in json.loads(out)["ratings"])


@pytest.mark.parametrize(("body", "phrase"), [
    (b"x,x,1\n", "plays itself"),
    (b"\xff\xfe\xfd,y,1\n", "not UTF-8"),
    (b"x" * 200_000 + b",y,1\n", "longer than"),
], ids=["self-play", "not-utf-8", "field-limit"])
def test_the_installed_command_reports_the_three_crashes(tmp_path: Path, body: bytes,
                                                         phrase: str) -> None:
    path = tmp_path / "games.csv"
    path.write_bytes(HEADER + body)
    done = subprocess.run([str(RL_ARENA), "ratings", "fit", str(path)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"error: {path}:2: ") and done.stderr.count("\n") == 1
    assert phrase in done.stderr and "Traceback" not in done.stderr
