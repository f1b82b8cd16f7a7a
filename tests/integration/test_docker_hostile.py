"""Hostile agents against the Docker sandbox: every attack is contained with the right outcome.

Each test plays two tic-tac-toe games (so both seat orders are played) of a hostile agent
(agent 0, from tests/agents/hostile/) against the random baseline (agent 1). The random agent
must never be penalised: it never forfeits, and it wins every game the hostile agent forfeits.
Agents that probe for an escape raise RuntimeError("ESCAPE: ...") when a probe succeeds, which
turns into a crash forfeit, so these tests fail if the sandbox leaks.

Each attack that has a Kaggle-format twin (tests/agents/hostile_kaggle/: the same attack in a
module whose last callable is the agent) is played in both forms, with the same assertions;
Kaggle-only cases (answers that int() chokes on, a class or a builtin as the last callable)
follow them.
"""

from __future__ import annotations

import ast
import contextlib
import os
import signal
import threading
import time
import uuid
from typing import Any

import docker.errors
import pytest

from rl_arena_app.arena import envs
from rl_arena_app.arena.bundle import AgentBundle
from rl_arena_app.arena.referee import Limits
from rl_arena_app.arena.run import RunResult, play
from tests.support.agents import (
    HOSTILE_KAGGLE_DIR,
    builtin,
    bundle_from_source,
    hostile,
    hostile_kaggle,
)

pytestmark = pytest.mark.docker

ENV = "tictactoe"
# Where timing is the point: a 1 s budget per move (0.5 s limit + 0.5 s bank).
TIGHT = Limits(move_timeout_s=0.5, time_bank_s=0.5, startup_timeout_s=10)
# Elsewhere: generous, so a loaded machine cannot turn an expected outcome into a timeout.
RELAXED = Limits(move_timeout_s=5, time_bank_s=10, startup_timeout_s=30)


def random_agent() -> AgentBundle:
    return builtin("random", ENV)


def duel(docker_play, agent: AgentBundle, limits: Limits = RELAXED,
         opponent: AgentBundle | None = None) -> dict[str, Any]:
    """Play 2 games of `agent` (index 0) against `opponent`; check the opponent is not penalised."""
    summary = docker_play(ENV, [agent, opponent or random_agent()], seed=7, limits=limits,
                          games=2).summary()
    games = summary["games"]
    assert [g["first"] for g in games] == [0, 1], "seats must swap between the two games"
    for game in games:
        assert not (game["forfeit"] and game["forfeit"]["agent"] == 1), \
            f"the opponent was penalised: {game['forfeit']}"
    # Every game the hostile agent forfeits is a point for the opponent.
    assert summary["points"][1] >= len(forfeits(summary)), summary["points"]
    return summary


def forfeits(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [g["forfeit"] for g in summary["games"] if g["forfeit"]]


def assert_hostile_forfeits(summary: dict[str, Any], reason: str, *phrases: str,
                            games: tuple[int, ...] = (0, 1)) -> None:
    """The hostile agent forfeited exactly `games` for `reason`, with every phrase in the detail;
    the opponent won each of them."""
    for index, game in enumerate(summary["games"]):
        forfeit = game["forfeit"]
        if index not in games:
            assert forfeit is None, f"game {index}: unexpected forfeit {forfeit}"
            continue
        assert forfeit is not None, f"game {index} was not forfeited: {game}"
        assert (forfeit["agent"], forfeit["reason"]) == (0, reason), forfeit
        for phrase in phrases:
            assert phrase in forfeit["detail"], f"{phrase!r} not in {forfeit['detail']!r}"
        assert (game["outcome"], game["winner"]) == ("forfeit", 1), game


def assert_no_forfeit(summary: dict[str, Any]) -> None:
    """Both games were played to the end (an ESCAPE would have been a crash forfeit)."""
    assert not forfeits(summary), forfeits(summary)
    for game in summary["games"]:
        assert game["outcome"] in {"win", "draw"}, game
        assert game["steps"] >= 5, game  # a finished tic-tac-toe game has at least 5 moves


@pytest.fixture(params=["warm", "cold"])
def docker_mode(request) -> str:
    """Every attack, in a warm sandbox (a process forked in a running container) and a cold one."""
    return request.param


@pytest.fixture(params=["native", "kaggle"])
def form(request) -> str:
    """Every attack with a Kaggle-format twin, as act(observation, info) and as a Kaggle agent."""
    return request.param


def attacker(form: str, name: str) -> AgentBundle:
    """Hostile agent NAME in the given form."""
    return hostile(name) if form == "native" else hostile_kaggle(name)


@pytest.fixture(autouse=True)
def nothing_left(docker_engine) -> Any:
    """After each test: no container and no socket folder of this process remains."""
    from jobs.sandbox.docker import owner_tag

    yield
    docker_engine.drain()
    left = docker_engine.managed_containers(owner=owner_tag())
    assert not left, f"rl-arena.managed containers left: {[c.name for c in left]}"
    folders = list(docker_engine.socket_root.glob(f"{os.getpid()}-*"))
    assert not folders, f"socket folders left: {folders}"


# --- resources -------------------------------------------------------------------------------


@pytest.mark.slow
def test_fork_bomb_is_a_resource_limit(docker_play, form):
    summary = duel(docker_play, attacker(form, "fork_bomb"))
    # fork() fails with EAGAIN at the 64-pid cap; the harness reports it as a resource limit.
    assert_hostile_forfeits(summary, "resource_limit", "BlockingIOError",
                            "Resource temporarily unavailable")


@pytest.mark.slow
def test_memory_hog_is_killed_by_the_memory_limit(docker_play, docker_engine, form):
    summary = duel(docker_play, attacker(form, "memory_hog"))
    limit = docker_engine.limits.memory_mb
    assert_hostile_forfeits(summary, "resource_limit", f"killed by the memory limit ({limit} MB)")


@pytest.mark.slow
def test_busy_loop_times_out(docker_play, form):
    summary = duel(docker_play, attacker(form, "busy_loop"), limits=TIGHT)
    assert len(summary["games"]) == 2
    assert_hostile_forfeits(summary, "timeout", "no action within 1.000s",
                            "move limit plus what was left of the time bank")
    for game in summary["games"]:
        assert game["duration_s"] < 5, game  # cut at the 1 s budget, not later


@pytest.mark.slow
def test_slow_import_times_out_at_start_up_for_both_games(docker_play, form):
    started = time.monotonic()
    summary = duel(docker_play, attacker(form, "slow_import"),
                   limits=Limits(move_timeout_s=0.5, time_bank_s=0.5, startup_timeout_s=2))
    elapsed = time.monotonic() - started
    assert_hostile_forfeits(summary, "timeout", "did not start within", "(start-up allowance)")
    assert all(g["steps"] == 0 for g in summary["games"])
    assert summary["points"] == [0.0, 2.0]
    for game in summary["games"]:  # the configured allowance, not what was left of it
        assert "did not start within 2s" in game["forfeit"]["detail"], game["forfeit"]
    assert elapsed < 15, f"the run took {elapsed:.1f}s despite a 2 s start-up allowance"


@pytest.mark.slow
def test_output_flood_is_harmless(docker_play, form):
    started = time.monotonic()
    summary = duel(docker_play, attacker(form, "output_flood"))
    elapsed = time.monotonic() - started
    assert_no_forfeit(summary)
    assert elapsed < 30, f"20 MB of output slowed the run to {elapsed:.1f}s"


# --- isolation -------------------------------------------------------------------------------


# Each probe checks its fence from inside and plays on when it holds. process_killer: in its
# own pid namespace the agent sees only its init, itself and, warm, its fork server: kill(-1)
# reaches no one else, the init ignores SIGKILL from inside its namespace, and the opponent lives
# in another container. Cold, nobody dies and both games are played out; warm, the agent kills
# its own server and so itself.
@pytest.mark.slow
@pytest.mark.parametrize("probe", [
    pytest.param("network_probe", id="network_is_unreachable"),
    pytest.param("write_probe", id="only_tmp_is_writable_and_capped"),
    pytest.param("privilege", id="privilege_escalation_fails"),
    pytest.param("process_killer", id="killing_every_process_spares_the_opponent"),
])
def test_isolation_holds(docker_play, docker_mode, form, probe):
    summary = duel(docker_play, attacker(form, probe))
    if probe == "process_killer" and docker_mode == "warm":
        # It reaches its own fork server too, and dies with it: its loss alone.
        assert all(f["agent"] == 0 and f["reason"] == "crash" and "ESCAPE" not in f["detail"]
                   for f in forfeits(summary)), forfeits(summary)
        return
    assert_no_forfeit(summary)


@pytest.fixture
def one_off_images(docker_engine) -> Any:
    """Bundles made unique for one test run; their images are deleted afterwards."""
    from jobs.images.agent import agent_image_tag, base_identity
    from rl_arena_app.settings import get_settings

    bundles: list[AgentBundle] = []
    yield bundles
    base_id = base_identity(docker_engine.client.images.get(get_settings().agent_base_image))
    for bundle in bundles:
        with contextlib.suppress(docker.errors.APIError):  # in use: nothing_left reports it
            docker_engine.client.images.remove(agent_image_tag(base_id, bundle))


def marker_agent(marker: str) -> AgentBundle:
    """A random-move opponent whose source carries `marker`."""
    source = (f'"""Plays random legal moves; its source holds a secret."""\n\n'
              f"import random\n\nimport numpy as np\n\nSECRET = {marker!r}\n\n\n"
              "def act(observation, info):\n"
              '    return random.choice(np.flatnonzero(info["action_mask"]).tolist())\n')
    return bundle_from_source(source, ref="marker-opponent")


@pytest.mark.slow
def test_opponent_code_is_not_reachable(docker_play, one_off_images, form):
    opponent = marker_agent(f"OPPONENT-SECRET-{uuid.uuid4().hex}")
    one_off_images.append(opponent)
    summary = duel(docker_play, attacker(form, "secret_search"), opponent=opponent,
                   limits=Limits(move_timeout_s=10, time_bank_s=10, startup_timeout_s=30))
    assert_no_forfeit(summary)


@pytest.mark.slow
def test_secret_search_finds_a_reachable_marker(docker_play, one_off_images, form):
    """Control: the search does find the marker when it is inside the agent's own container."""
    marker = f"OPPONENT-SECRET-{uuid.uuid4().hex}"
    searcher = attacker(form, "secret_search")
    # Deeper than the /proc/*/root/agent listing looks, so the filesystem walk must find it.
    planted = AgentBundle(ref="secret_search_control",
                          files={**searcher.files, "data/deep/notes.txt": marker.encode()})
    one_off_images.append(planted)
    summary = duel(docker_play, planted,
                   limits=Limits(move_timeout_s=10, time_bank_s=10, startup_timeout_s=30))
    # The search runs once per sandbox, on the first move; a crash in act() is not fatal.
    assert_hostile_forfeits(summary, "crash",
                            "ESCAPE: opponent marker found in /agent/data/deep/notes.txt",
                            games=(0,))


# --- broken agents ---------------------------------------------------------------------------


@pytest.mark.slow
def test_crash_at_import_forfeits_every_game(docker_play, form):
    summary = duel(docker_play, attacker(form, "crash_at_import"))
    assert_hostile_forfeits(summary, "crash", "boom at import", "Traceback", "ValueError")
    image = summary["agents"][0]["image"]  # known though the agent never started
    assert image is not None and image.startswith("rl-arena/agent:"), summary["agents"]


# Inline rather than files under tests/agents/, which ruff would refuse to parse.
UNPARSABLE = {"native": "def act(observation, info)\n    return 0\n",
              "kaggle": "def my_agent(observation, configuration)\n    return 0\n"}


@pytest.mark.slow
def test_syntax_error_is_a_crash(docker_play, form):
    agent = bundle_from_source(f'"""Does not parse."""\n\n{UNPARSABLE[form]}', ref="syntax_error")
    assert_hostile_forfeits(duel(docker_play, agent), "crash", "SyntaxError", "agent.py")


@pytest.mark.slow
def test_missing_act_is_a_crash_with_a_clear_message(docker_play, form):
    assert_hostile_forfeits(duel(docker_play, attacker(form, "no_act")), "crash",
                            "defines neither act(observation, info) nor a class Agent")


@pytest.mark.slow
def test_illegal_square(docker_play, form):
    summary = duel(docker_play, attacker(form, "illegal_square"))
    assert_hostile_forfeits(summary, "illegal_action")
    # Game 0: it moves first on an empty board, so it plays off the board; game 1: the random
    # agent has moved, so it plays that occupied square.
    first, second = (g["forfeit"]["detail"] for g in summary["games"])
    assert first == "action 9 is outside [0, 9)"
    assert "is not legal now (legal: [" in second


@pytest.mark.slow
@pytest.mark.parametrize(("name", "detail"), [
    ("returns_str", "expected an integer action in [0, 9), got str"),
    ("returns_float", "expected an integer action in [0, 9), got float"),
    ("returns_object", "act() returned 'object', which is not a valid action"),
])
def test_wrong_action_type(docker_play, name, detail):
    summary = duel(docker_play, hostile(name))
    assert_hostile_forfeits(summary, "illegal_action", detail)


@pytest.mark.slow
def test_garbage_on_the_protocol_channel(docker_play, form):
    summary = duel(docker_play, attacker(form, "protocol_garbage"))
    assert_hostile_forfeits(summary, "protocol_error",
                            "sent a line that is not a protocol message: b'garbage'")


# --- Kaggle-format only ----------------------------------------------------------------------


def test_every_kaggle_twin_is_a_kaggle_agent():
    """No twin's entry defines or imports act or Agent, so the harness calls its last callable."""
    entries = [*HOSTILE_KAGGLE_DIR.glob("*.py"), *HOSTILE_KAGGLE_DIR.glob("*/main.py")]
    assert len(entries) >= 20, entries
    for entry in entries:
        body = ast.parse(entry.read_text()).body
        names = {getattr(node, "name", None) for node in body}
        names |= {alias.asname or alias.name for node in body
                  if isinstance(node, ast.ImportFrom) for alias in node.names}
        where = entry.relative_to(HOSTILE_KAGGLE_DIR)
        assert not names & {"act", "Agent"}, f"{where} would load as a native agent"


@pytest.mark.slow
@pytest.mark.parametrize(("name", "detail"), [
    ("returns_str", "the Kaggle agent returned 'a', which is not an action"),
    ("returns_object",
     "the Kaggle agent returned a value of type object, which is not an action"),
    ("returns_nan", "the Kaggle agent returned nan, which is not an action"),
    ("returns_inf", "the Kaggle agent returned inf, which is not an action"),
])
def test_a_kaggle_answer_int_refuses_is_an_illegal_action(docker_play, name, detail):
    summary = duel(docker_play, hostile_kaggle(name))
    assert_hostile_forfeits(summary, "illegal_action", detail)
    assert all("Traceback" not in f["detail"] for f in forfeits(summary))


# Beyond what the protocol carries and a reason can show: before the fix, a 4000-digit int
# crossed the wire and came back as a 4000-digit reason; past 4300 digits json could not encode
# it and the harness blamed act(), which a Kaggle agent does not have.
@pytest.mark.slow
@pytest.mark.parametrize("digits", [4000, 5000])
def test_a_huge_int_answer_is_an_illegal_action_with_a_short_reason(docker_play, digits):
    agent = bundle_from_source("def my_agent(observation, configuration):\n"
                               f"    return 10**{digits - 1}\n", ref="returns_huge_int.py")
    summary = duel(docker_play, agent)
    assert_hostile_forfeits(summary, "illegal_action", "the Kaggle agent returned")
    for forfeit in forfeits(summary):
        assert len(forfeit["detail"]) <= 200, f"a {len(forfeit['detail'])}-character reason"
        assert "act()" not in forfeit["detail"], forfeit["detail"]


@pytest.mark.slow
def test_an_int_conversion_that_raises_is_a_crash_in_the_agent_code(docker_play):
    summary = duel(docker_play, hostile_kaggle("int_raises"))
    assert_hostile_forfeits(summary, "crash", "RuntimeError: no int for you", "in __int__",
                            'File "agent.py"')
    for forfeit in forfeits(summary):  # the harness's own frames are not the submitter's business
        assert "harness" not in forfeit["detail"] and "kaggle.py" not in forfeit["detail"]


@pytest.mark.slow
@pytest.mark.parametrize("name", [
    pytest.param("index_loops", id="an_index_that_never_returns"),
    pytest.param("slow_class", id="a_class_as_the_agent_whose_construction_is_slow"),
])
def test_an_answer_that_never_comes_times_out(docker_play, name):
    summary = duel(docker_play, hostile_kaggle(name), limits=TIGHT)
    assert_hostile_forfeits(summary, "timeout", "no action within 1.000s")
    for game in summary["games"]:
        assert game["duration_s"] < 5, game


@pytest.mark.slow
def test_an_imported_builtin_as_the_last_callable_is_a_crash(docker_play):
    # os._exit(observation): the observation is no exit status, so the call raises TypeError.
    summary = duel(docker_play, hostile_kaggle("builtin_last"))
    assert_hostile_forfeits(summary, "crash", "TypeError")


# --- interruption ----------------------------------------------------------------------------


class Wrapped:
    """A sandbox with optional hooks after launch() and before act(); the rest is the real one."""

    def __init__(self, sandbox: Any, after_launch: Any = None, before_act: Any = None) -> None:
        self._sandbox = sandbox
        self._after_launch = after_launch
        self._before_act = before_act

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sandbox, name)

    def launch(self) -> None:
        self._sandbox.launch()
        if self._after_launch is not None:
            self._after_launch()

    def act(self, *args: Any) -> Any:
        if self._before_act is not None:
            self._before_act()
        return self._sandbox.act(*args)


def play_with_factories(docker_engine, bundles: list[AgentBundle], limits: Limits,
                        wrap: Any) -> RunResult:
    """Like the docker_play fixture, but `wrap(agent_index, make_sandbox)` builds each factory."""
    from jobs.images.agent import ensure_agent_image
    from jobs.sandbox.docker import DockerSandbox
    from rl_arena_app.settings import get_settings

    settings = get_settings()
    images = [ensure_agent_image(docker_engine.client, b, settings.agent_base_image,
                                 settings.agent_python_version) for b in bundles]
    factories = [wrap(i, lambda image=image: DockerSandbox(docker_engine, image))
                 for i, image in enumerate(images)]
    return play(envs.spec(ENV), factories, [b.ref for b in bundles], sandbox="docker", seed=7,
                limits=limits, games=2)


@pytest.fixture
def sigint_raises() -> Any:
    """A real SIGINT raises KeyboardInterrupt here, however pytest was started.

    Python installs that handler only when SIGINT is not ignored at start-up, and it is ignored
    for `pytest ... &` in a script and under some CI runners.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.slow
@pytest.mark.usefixtures("sigint_raises")
def test_ctrl_c_while_an_agent_thinks_removes_the_containers(docker_engine):
    from jobs.sandbox.docker import owner_tag

    main = threading.main_thread().ident
    assert main is not None
    running_at_interrupt: list[int] = []
    timers: list[threading.Timer] = []

    def interrupt() -> None:
        running_at_interrupt.append(len(docker_engine.managed_containers(owner=owner_tag())))
        signal.pthread_kill(main, signal.SIGINT)  # a real SIGINT: it wakes the blocked recv()

    def arm() -> None:  # 1 s into the busy-looping agent's first move, Ctrl-C
        if not timers:
            timers.append(threading.Timer(1.0, interrupt))
            timers[0].start()

    def wrap(agent: int, make: Any) -> Any:
        return (lambda: Wrapped(make(), before_act=arm)) if agent == 0 else make

    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            play_with_factories(docker_engine, [hostile("busy_loop"), random_agent()],
                                Limits(move_timeout_s=20, time_bank_s=0, startup_timeout_s=30),
                                wrap)
    finally:
        for timer in timers:
            timer.cancel()
    assert running_at_interrupt == [2], "both containers were running when Ctrl-C came"
    assert time.monotonic() - started < 15, "Ctrl-C did not cut the 20 s move short"
    docker_engine.drain()
    assert not docker_engine.managed_containers(owner=owner_tag())


@pytest.mark.slow
def test_ctrl_c_while_replacing_a_sandbox_removes_the_containers(docker_engine):
    from jobs.sandbox.docker import owner_tag

    running_at_interrupt: list[int] = []
    calls = [0]

    def wrap(agent: int, make: Any) -> Any:
        if agent == 1:
            return make

        def factory() -> Any:
            calls[0] += 1
            if calls[0] == 2:  # the fresh sandbox after the game-0 timeout
                docker_engine.drain()  # the timed-out container's removal may be under way
                running_at_interrupt.append(
                    len(docker_engine.managed_containers(owner=owner_tag())))
                raise KeyboardInterrupt
            return make()

        return factory

    with pytest.raises(KeyboardInterrupt):
        play_with_factories(docker_engine, [hostile("busy_loop"), random_agent()], TIGHT, wrap)
    assert calls[0] == 2
    assert running_at_interrupt == [1], "the opponent's container was running at Ctrl-C"
    docker_engine.drain()
    assert not docker_engine.managed_containers(owner=owner_tag())


@pytest.mark.slow
@pytest.mark.usefixtures("sigint_raises")
def test_ctrl_c_while_containers_start_removes_them(docker_engine):
    from jobs.sandbox.docker import owner_tag

    main = threading.main_thread().ident
    assert main is not None
    running_at_interrupt: list[int] = []

    def interrupt() -> None:  # runs in a launcher thread, right after agent 0's container started
        running_at_interrupt.append(len(docker_engine.managed_containers(owner=owner_tag())))
        signal.pthread_kill(main, signal.SIGINT)

    def wrap(agent: int, make: Any) -> Any:
        return (lambda: Wrapped(make(), after_launch=interrupt)) if agent == 0 else make

    with pytest.raises(KeyboardInterrupt):
        play_with_factories(docker_engine, [random_agent(), random_agent()], RELAXED, wrap)
    assert len(running_at_interrupt) == 1
    assert running_at_interrupt[0] >= 1, "agent 0's container was running at Ctrl-C"
    docker_engine.drain()
    assert not docker_engine.managed_containers(owner=owner_tag())
