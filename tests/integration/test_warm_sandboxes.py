"""Warm sandboxes: nothing of a match reaches the next one on the same host, and attacks on the
fork server or the host's resources cost only the attacker, in Docker and in the process sandbox.

Each test plays tic-tac-toe runs of a hostile agent (agent 0, from tests/agents/hostile/) against
the random baseline on a pool of its own, and checks the pool reused the hostile agent's host
(or, where the attack broke it, replaced it) and that closing the pool left nothing behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from rl_arena_app.arena.bundle import AgentBundle
from rl_arena_app.arena.referee import Limits
from tests.support.agents import builtin, bundle_from_source, hostile
from tests.support.warm import ENV, WarmRuns

TIGHT = Limits(move_timeout_s=0.5, time_bank_s=0.5, startup_timeout_s=10)
# Plays one duel with the platform's own warm pool, then waits with both sandboxes warm.
PLAY_AND_WAIT = """
import time
from jobs.sandbox.factory import runner_for
from rl_arena_app.arena import envs
from rl_arena_app.arena.referee import Limits
from rl_arena_app.arena.run import play
from tests.support.agents import builtin
spec = envs.spec("tictactoe")
prepared = runner_for("docker").prepare([builtin("random", "tictactoe")] * 2)
play(spec, prepared.factories, ["a", "b"], sandbox="docker", seed=0,
     limits=Limits.for_env(spec), games=2)
print("ready", flush=True)
time.sleep(600)
"""


@pytest.fixture(params=[pytest.param("docker", marks=pytest.mark.docker), "process"])
def warm(request) -> Iterator[WarmRuns]:
    """Runs on a fresh pool of warm sandboxes of each kind."""
    if request.param == "process" and os.geteuid() != 0:
        pytest.fail("the process sandbox isolates agents by uid only as root: run as root")
    engine = request.getfixturevalue("docker_engine") if request.param == "docker" else None
    runs = WarmRuns(request.param, engine)
    yield runs
    runs.close_and_check()


def random_agent() -> AgentBundle:
    return builtin("random", ENV)


def forfeit_of(summary: dict) -> dict | None:
    return summary["games"][0]["forfeit"]


def variant(name: str, mode: str) -> AgentBundle:
    """A hostile agent with its MODE line rewritten."""
    source = hostile(name).files["agent.py"].decode().replace('MODE = "ptrace"',
                                                             f"MODE = {mode!r}")
    return bundle_from_source(source, ref=f"{name}-{mode}")


@pytest.mark.slow
def test_nothing_carries_over_to_the_next_match(warm):
    keeper = hostile("state_keeper")
    for seed in range(3):
        summary = warm.duel(keeper, random_agent(), seed=seed)
        assert forfeit_of(summary) is None, forfeit_of(summary)
        assert summary["games"][0]["steps"] >= 5
    assert warm.hosts_of(keeper) == 1, "the three matches shared one warm host"
    assert warm.pool.stats().hits >= 4


@pytest.mark.slow
def test_the_state_probe_sees_traces_within_one_agent_process(warm):
    """Control: the second game of one run is played by the same process, which finds them all."""
    summary = warm.duel(hostile("state_keeper"), random_agent(), games=2)
    assert summary["games"][0]["forfeit"] is None
    forfeit = summary["games"][1]["forfeit"]
    assert forfeit is not None and forfeit["reason"] == "crash", forfeit
    for trace in ("LEAK: file", "module counter 1", "processes [", "shared memory"):
        assert trace in forfeit["detail"], forfeit["detail"]


@pytest.mark.slow
def test_a_filled_temporary_folder_is_empty_for_the_next_match(warm):
    filler = hostile("tmp_filler")
    for seed in range(2):
        summary = warm.duel(filler, random_agent(), seed=seed)
        assert forfeit_of(summary) is None, forfeit_of(summary)
    assert warm.hosts_of(filler) == 1


@pytest.mark.slow
def test_a_fork_bomb_is_cleaned_up_before_the_next_match(warm):
    bomb = hostile("fork_bomb")
    for seed in range(2):
        forfeit = forfeit_of(warm.duel(bomb, random_agent(), seed=seed))
        assert forfeit is not None and forfeit["reason"] == "resource_limit", forfeit
    assert warm.hosts_of(bomb) == 1, "the host survived the bomb and served the next match"


@pytest.mark.slow
def test_a_sleeper_is_ended_with_its_match(warm):
    sleeper = hostile("sleeper")
    for seed in range(2):
        forfeit = forfeit_of(warm.duel(sleeper, random_agent(), TIGHT, seed=seed))
        assert forfeit is not None and forfeit["reason"] == "timeout", forfeit
        assert "no action within" in forfeit["detail"], forfeit
    assert warm.hosts_of(sleeper) == 1


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["ptrace", "term"])
def test_the_fork_server_resists_ptrace_and_termination_signals(warm, mode):
    attacker = variant("fork_server_attacker", mode)
    for seed in range(2):
        summary = warm.duel(attacker, random_agent(), seed=seed)
        assert forfeit_of(summary) is None, forfeit_of(summary)
    assert warm.hosts_of(attacker) == 1


@pytest.mark.slow
def test_a_stopped_fork_server_is_replaced_without_blame(warm):
    attacker = variant("fork_server_attacker", "stop")
    for seed in range(2):
        summary = warm.duel(attacker, random_agent(), seed=seed)
        assert forfeit_of(summary) is None, forfeit_of(summary)
    assert warm.hosts_of(attacker) == 2, "the frozen host was discarded, a fresh one started"


@pytest.mark.slow
def test_killing_the_fork_server_costs_only_the_attacker(warm):
    attacker = variant("fork_server_attacker", "kill")
    for seed in range(2):
        forfeit = forfeit_of(warm.duel(attacker, random_agent(), seed=seed))
        # Its own process dies with the server it killed, a few moves later at most (the kernel
        # tears the server down first): a crash if the game is still on. Never a failed start:
        # the next match runs on a fresh host.
        assert forfeit is None or forfeit["reason"] == "crash", (seed, forfeit)
    assert warm.hosts_of(attacker) == 2


@pytest.mark.docker
def test_ctrl_c_closes_the_warm_containers(docker_engine):
    child = subprocess.Popen([sys.executable, "-c", PLAY_AND_WAIT], stdout=subprocess.PIPE,
                             text=True, cwd=os.getcwd())
    owner = f"{os.uname().nodename}:{child.pid}"
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        assert len(docker_engine.managed_containers(owner=owner)) == 2, "both kept warm"
        child.send_signal(signal.SIGINT)
        child.wait(60)
    finally:
        child.kill()
    assert docker_engine.managed_containers(owner=owner) == []


@pytest.mark.slow
def test_a_warm_process_sandbox_keeps_its_folder_from_other_agents():
    if os.geteuid() != 0:
        pytest.fail("the process sandbox isolates agents by uid only as root: run as root")
    runs = WarmRuns("process")
    try:
        runs.duel(hostile("state_keeper"), random_agent())  # both now idle and warm
        forfeit = forfeit_of(runs.duel(hostile("folder_snooper"), random_agent()))
        assert forfeit is None, forfeit
    finally:
        runs.close_and_check()
