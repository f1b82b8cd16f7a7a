"""The process sandbox with real processes: isolation, limits, faults and clean-up."""

from __future__ import annotations

import os
import re
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent

import pytest

from jobs.sandbox.process import DIR_PREFIX, UID_BASE, ProcessSandbox, processes_of
from rl_arena_app.arena import baselines, envs
from rl_arena_app.arena.bundle import AgentBundle
from rl_arena_app.arena.referee import Limits
from rl_arena_app.arena.run import RunResult, play
from rl_arena_app.errors import BadInput
from rl_arena_app.settings import Settings
from tests.support.sandboxes import KeptSandboxes

AS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not AS_ROOT, reason="own uid and no network only as root")
LIMITS = Limits(move_timeout_s=0.5, time_bank_s=0.5, startup_timeout_s=10)
RANDOM = (Path(baselines.__file__).parent / "random_agent.py").read_text()
# The random agent, calling check() before each move.
CHECKED = RANDOM + """
_Random = Agent


class Agent(_Random):
    def act(self, observation, info):
        check()
        return super().act(observation, info)
"""


class Duel(KeptSandboxes):
    """Plays tictactoe between two agent sources and keeps every sandbox it made."""

    def __call__(self, source_a: str, source_b: str = RANDOM) -> RunResult:
        """Two games, each agent moving first once."""
        bundles = [AgentBundle(ref=ref, files={"agent.py": source.encode()})
                   for ref, source in (("a", source_a), ("b", source_b))]
        return play(envs.spec("tictactoe"), [self._factory(b) for b in bundles], ["a", "b"],
                    sandbox="process", seed=0, limits=LIMITS, games=2)

    def uids(self) -> set[int]:
        """The uids the agents ran as."""
        return {s.uid for s in self.sandboxes if s.uid is not None}


@pytest.fixture
def duel() -> Iterator[Duel]:
    """A duel runner; afterwards no agent process and no private folder may be left."""
    runner = Duel()
    yield runner
    runner.assert_cleaned_up()


def forfeits(result: RunResult) -> list[dict | None]:
    """Each game's forfeit as JSON (None when the game was played out)."""
    return [g.forfeit.to_json() if g.forfeit else None for g in result.games]


def assert_first_agent_forfeits(result: RunResult, reason: str, *phrases: str) -> None:
    """Agent 0 forfeited every game for ``reason``, with every phrase in the detail."""
    for forfeit in forfeits(result):
        assert forfeit is not None and forfeit["agent"] == 0
        assert forfeit["reason"] == reason
        for phrase in phrases:
            assert phrase in forfeit["detail"], f"{phrase!r} not in {forfeit['detail']!r}"


def test_normal_duel_completes(duel: Duel) -> None:
    """Two random agents play both games without forfeits, as two different uids."""
    result = duel(RANDOM)
    assert forfeits(result) == [None, None]
    assert all(len(g.steps) >= 5 for g in result.games)
    if AS_ROOT:
        assert len(duel.uids()) == 2
        assert all(uid >= UID_BASE for uid in duel.uids())


def test_agents_run_under_distinct_uids(duel: Duel) -> None:
    """Each agent reports its uid by crashing on purpose; the uids differ and are the sandboxes'."""
    result = duel("import os\n\ndef act(observation, info):\n"
                  "    raise RuntimeError(f'UID={os.getuid()}')\n",
                  "import os\n\ndef act(observation, info):\n"
                  "    raise RuntimeError(f'UID={os.getuid()}')\n")
    found = forfeits(result)
    assert [f["agent"] for f in found] == [0, 1]  # whoever moves first forfeits
    uids = [int(re.search(r"UID=(\d+)", f["detail"]).group(1)) for f in found]
    if AS_ROOT:
        assert uids[0] != uids[1]
        assert set(uids) == duel.uids()
        assert 0 not in uids
    else:
        assert uids == [os.getuid()] * 2


def test_crash_at_import_forfeits_every_game(duel: Duel) -> None:
    """An agent that raises while loading forfeits each game with its traceback."""
    result = duel("raise ValueError('boom at import')\n")
    assert_first_agent_forfeits(result, "crash", "Traceback", "ValueError: boom at import")


def test_exit_in_act_is_a_crash_with_output(duel: Duel) -> None:
    """A process that exits by itself: crash, with its exit code and its last output."""
    result = duel("import os\n\ndef act(observation, info):\n"
                  "    os.write(2, b'dying words\\n')\n    os._exit(3)\n")
    assert_first_agent_forfeits(result, "crash", "exited with code 3", "dying words")


@pytest.mark.slow
def test_busy_loop_times_out(duel: Duel) -> None:
    """An agent that never answers loses on time; its process is killed."""
    result = duel("def act(observation, info):\n    while True:\n        pass\n")
    assert_first_agent_forfeits(result, "timeout")


def test_memory_hog_hits_the_memory_limit(duel: Duel) -> None:
    """Allocating 2 GB fails under the address-space limit: resource_limit."""
    result = duel("def act(observation, info):\n"
                  "    hog = bytearray(2 * 1024 ** 3)\n    return len(hog)\n")
    assert_first_agent_forfeits(result, "resource_limit", "MemoryError")


@pytest.mark.slow
def test_fork_bomb_is_contained_and_killed(duel: Duel) -> None:
    """A fork bomb runs into the process limit (resource_limit); every fork is killed after."""
    result = duel("import os\n\ndef act(observation, info):\n"
                  "    while True:\n        os.fork()\n")
    assert_first_agent_forfeits(result, "resource_limit", "BlockingIOError")
    for uid in duel.uids():  # the fixture checks again, for every sandbox
        assert processes_of(uid) == []


@needs_root
def test_escaped_session_is_killed(duel: Duel) -> None:
    """A child that left the process group with setsid() does not outlive the sandbox."""
    drop = Path(tempfile.mkdtemp(prefix="rl-arena-test-"))
    drop.chmod(0o1777)
    try:
        check = f"DROP = {str(drop)!r}\n" + dedent("""
            import os, time

            FORKED = []

            def check():
                if not FORKED and os.fork() == 0:
                    os.setsid()
                    with open(f'{DROP}/{os.getpid()}', 'w'):
                        pass
                    time.sleep(600)
                FORKED.append(1)
            """)
        result = duel(CHECKED + check)
        assert forfeits(result) == [None, None]
        pids = [int(p.name) for p in drop.iterdir()]
        assert pids
        for pid in pids:  # gone, or dead and waiting for init to reap it
            status = Path(f"/proc/{pid}/status")
            assert not status.exists() or "\nState:\tZ" in status.read_text()
    finally:
        for path in drop.iterdir():
            path.unlink()
        drop.rmdir()


@needs_root
def test_no_network_inside(duel: Duel) -> None:
    """Connecting to a port listening on the host's loopback fails: network unreachable."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        check = f"PORT = {port}\n" + dedent("""
            import errno, socket

            def check():
                s = socket.socket()
                s.settimeout(2)
                try:
                    s.connect(('127.0.0.1', PORT))
                except OSError as exc:
                    if exc.errno != errno.ENETUNREACH:
                        raise RuntimeError(f'NETWORK: {exc!r}') from None
                else:
                    raise RuntimeError('NETWORK: connected to the host')
                finally:
                    s.close()
            """)
        result = duel(CHECKED + check, CHECKED + check)
    assert forfeits(result) == [None, None]
    assert all(s.network_isolated for s in duel.sandboxes)


@needs_root
def test_cannot_read_the_other_agents_folder(duel: Duel) -> None:
    """An agent sees the other private folder's name but can neither list nor read it."""
    pattern = os.path.join(tempfile.gettempdir(), DIR_PREFIX)
    check = f"PATTERN = {pattern!r}\n" + dedent("""
        import glob, os

        def check():
            mine = os.path.dirname(os.getcwd())
            others = [d for d in glob.glob(PATTERN + '*') if d != mine]
            if not others:
                raise RuntimeError('NOOTHER: no other agent folder to try')
            for folder in others:
                source = os.path.join(folder, 'agent', 'agent.py')
                for attempt in (lambda: os.listdir(folder), lambda: open(source).read()):
                    try:
                        attempt()
                    except (PermissionError, FileNotFoundError):
                        continue
                    raise RuntimeError(f'LEAK: could read {folder}')
        """)
    result = duel(CHECKED + check, CHECKED + check)
    assert forfeits(result) == [None, None]


def test_refused_in_production() -> None:
    """Production mode refuses the process sandbox outright."""
    bundle = AgentBundle(ref="x", files={"agent.py": RANDOM.encode()})
    with pytest.raises(BadInput, match="refused in production mode"):
        ProcessSandbox(bundle, Settings(env="production", secret_key="0123456789abcdef" * 4,
                                        github_client_id="id", github_client_secret="secret",
                                        public_url="https://arena.example.org"))


def test_requirements_are_installed_once_per_resolved_set(tmp_path: Path, monkeypatch) -> None:
    """Two texts that resolve to the same set share one cache entry in the data dir's wheels."""
    from jobs.images import wheels

    installs: list[list[str]] = []
    real_install = wheels.install_pins

    def counted(pins, *args, **kwargs) -> None:  # a spy: pip still runs
        installs.append([p.line().split(" ")[0] for p in pins])
        real_install(pins, *args, **kwargs)

    monkeypatch.setattr(wheels, "install_pins", counted)
    settings = Settings(data_dir=tmp_path)
    agent = ("import six\n\ndef act(observation, info):\n"
             "    return int(info['action_mask'].argmax()) if six.PY3 else 99\n")
    opponent = AgentBundle(ref="random", files={"agent.py": RANDOM.encode()})

    def play_with(ref: str, source: str, requirements: bytes) -> RunResult:
        bundle = AgentBundle(ref=ref, files={"agent.py": source.encode(),
                                             "requirements.txt": requirements})
        return play(envs.spec("tictactoe"),
                    [lambda: ProcessSandbox(bundle, settings), lambda: ProcessSandbox(opponent)],
                    [ref, "random"], sandbox="process", seed=0, limits=LIMITS, games=2)

    first = play_with("with-reqs", agent, b"six==1.16.0\n")
    second = play_with("other-text-same-set", agent + "# another version\n",
                       b"# the same set, written otherwise\nsix >=1.16, <1.17\n")

    assert forfeits(first) == forfeits(second) == [None, None]
    assert installs == [["six==1.16.0"]], "one install for both texts"
    installed = [e for e in (tmp_path / "wheels" / "sets").iterdir() if not e.name.startswith(".")]
    assert len(installed) == 1 and (installed[0] / "site" / "six.py").exists()
