"""Faults for people: real tracebacks from the harness name no host path, and `fault_summary`
cuts them down to where the agent failed and why."""

from __future__ import annotations

import sys
import tempfile

import numpy as np
import pytest

from jobs.sandbox.process import ProcessSandbox
from rl_arena_app.arena.bundle import AgentBundle
from rl_arena_app.arena.faults import fault_line, fault_summary
from rl_arena_app.arena.outcomes import AgentFault

HELPER_AGENT = {
    "agent.py": "from utils import helpers\n\n\ndef act(observation, info):\n"
                "    print('thinking')\n    return helpers.pick(observation)\n",
    "utils/__init__.py": "",
    "utils/helpers.py": "def pick(board):\n"
                        "    raise ValueError(f'no move on {len(board)} squares')\n",
}
NUMPY_AGENT = {
    "agent.py": "import numpy as np\n\n\ndef act(observation, info):\n"
                "    board = np.reshape(observation, (5, 5))\n    return int(board.argmax())\n",
}


def fault_of(files: dict[str, str]) -> str:
    """The detail of the fault an agent commits in a real process sandbox, loading or on its
    first move (a 9-square board); every host folder of the sandbox must be absent from it."""
    sandbox = ProcessSandbox(AgentBundle(ref="t", files={k: v.encode() for k, v in files.items()}))
    try:
        sandbox.launch()
        try:
            sandbox.wait_ready(30)
            sandbox.act(np.arange(9), {"step": 0}, {"seed": 0}, 30.0)
        except AgentFault as fault:
            detail = fault.detail
        else:
            raise AssertionError("the agent did not fail")
    finally:
        sandbox.close()
    for host_path in (str(sandbox.directory), tempfile.gettempdir() + "/", sys.prefix,
                      sys.base_prefix, np.__file__.rsplit("/numpy/", 1)[0]):
        assert host_path not in detail, f"{host_path} shown in:\n{detail}"
    return detail


def test_syntax_error_shows_file_line_and_caret() -> None:
    detail = fault_of({"agent.py": '"""Does not parse."""\n\n\ndef act(observation, info)\n'
                                   "    return 0\n"})
    assert fault_summary(detail) == ('File "agent.py", line 4\n'
                                     "  def act(observation, info)\n"
                                     "                            ^\n"
                                     "SyntaxError: expected ':'")


def test_indentation_error_shows_file_line_and_caret() -> None:
    detail = fault_of({"agent.py": "def act(observation, info):\nreturn 0\n"})
    assert fault_summary(detail) == (
        'File "agent.py", line 2\n  return 0\n  ^^^^^^\n'
        "IndentationError: expected an indented block after function definition on line 1")


def test_error_in_a_helper_module_of_the_agent() -> None:
    detail = fault_of(HELPER_AGENT)
    assert 'File "agent.py", line 6, in act' in detail
    assert "--- agent output (tail) ---\nthinking" in detail
    assert fault_summary(detail) == ('File "utils/helpers.py", line 2, in pick\n'
                                     "  raise ValueError(f'no move on {len(board)} squares')\n"
                                     "ValueError: no move on 9 squares")


def test_error_inside_numpy_points_at_the_agents_call() -> None:
    detail = fault_of(NUMPY_AGENT)
    assert 'File "<site-packages>/numpy/' in detail  # the library by its package-relative path
    assert fault_summary(detail) == ('File "agent.py", line 5, in act\n'
                                     "  board = np.reshape(observation, (5, 5))\n"
                                     "          " + "^" * 31 + "\n"
                                     "ValueError: cannot reshape array of size 9 into shape (5,5)")


def test_error_inside_the_standard_library_at_import() -> None:
    detail = fault_of({"agent.py": "import json\n\nCONFIG = json.loads('{oops')\n"})
    assert 'File "<stdlib>/json/decoder.py"' in detail
    summary = fault_summary(detail)
    assert summary.startswith('File "agent.py", line 3, in <module>\n'
                              "  CONFIG = json.loads('{oops')\n")
    assert summary.endswith("\njson.decoder.JSONDecodeError: Expecting property name enclosed in "
                            "double quotes: line 1 column 2 (char 1)")


def test_the_last_exception_of_a_chain_is_summarised() -> None:
    detail = fault_of({"agent.py": "def act(observation, info):\n    try:\n        {}['w']\n"
                                   "    except KeyError as exc:\n"
                                   "        raise RuntimeError('no weights') from exc\n"})
    assert "KeyError: 'w'" in detail
    assert fault_summary(detail) == ('File "agent.py", line 5, in act\n'
                                     "  raise RuntimeError('no weights') from exc\n"
                                     "RuntimeError: no weights")


def test_harness_errors_have_no_harness_frames() -> None:
    detail = fault_of({"agent.py": "x = 1\n"})
    assert detail.strip() == ("AttributeError: agent.py defines neither act(observation, info) "
                              "nor a class Agent with act(), nor a function to call as a Kaggle "
                              "agent(observation, configuration)")
    assert fault_summary(detail) == detail.strip()


@pytest.mark.parametrize("detail", [
    "no action within 1.000s (move limit plus what was left of the time bank)",
    "agent process exited with code 3: dying words\nmore words",
    "killed by the memory limit (512 MB)",
])
def test_a_detail_that_is_not_a_traceback_is_kept(detail: str) -> None:
    assert fault_summary(detail + "\n") == detail


def test_without_a_frame_of_the_agent_the_last_library_frame_stands_in() -> None:
    detail = fault_of(NUMPY_AGENT)
    # The harness keeps a detail's tail: a long traceback can lose its first frames.
    cut = detail[detail.index("line 5, in act"):]
    summary = fault_summary(cut).splitlines()
    assert summary[0].startswith('File "<site-packages>/numpy/')
    assert summary[-1] == "ValueError: cannot reshape array of size 9 into shape (5,5)"


def test_fault_line_is_one_line_with_the_location() -> None:
    syntax = fault_of({"agent.py": "def act(observation, info)\n    return 0\n"})
    assert fault_line(syntax) == "SyntaxError: expected ':' (agent.py, line 1)"
    helper = fault_of(HELPER_AGENT)
    assert fault_line(helper) == ("ValueError: no move on 9 squares "
                                  "(utils/helpers.py, line 2, in pick)")
    assert fault_line("no action within 1.000s\n") == "no action within 1.000s"


ESCAPING_CRASH = ('Traceback (most recent call last):\n  File "agent.py", line 3, in act\n'
                  '    raise RuntimeError(TEXT)\n'
                  'RuntimeError: \x1b[31mred\x1b[0m \x1b]8;;https://evil.example/\x1b\\link'
                  '\x1b]8;;\x1b\\ \u202etxt.exe\x00 carriage\rSpoofed: all fine\n'
                  '\n--- agent output (tail) ---\n\x1b]0;title\x07\x1b[2Jout')


def test_summary_and_line_of_an_escaping_crash_are_printable() -> None:
    assert fault_summary(ESCAPING_CRASH) == ('File "agent.py", line 3, in act\n'
                                             "  raise RuntimeError(TEXT)\n"
                                             "RuntimeError: red link txt.exe carriage\n"
                                             "Spoofed: all fine")
    # A carriage return or a newline in the message cannot hide the exception's type.
    assert fault_line(ESCAPING_CRASH) == ("RuntimeError: red link txt.exe carriage Spoofed: all "
                                          "fine (agent.py, line 3, in act)")
    assert fault_line("exited with code 1: \x1b[2J\x1b]0;x\x07dying\u202e words") == \
        "exited with code 1: dying words"
