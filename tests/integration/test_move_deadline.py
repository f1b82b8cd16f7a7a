"""The move deadline with real agent processes: an answer just after it is always a timeout, one
comfortably before it never is, and the time left an agent is told never drops below the limit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.sandbox.process import ProcessSandbox
from rl_arena_app.arena import baselines, envs
from rl_arena_app.arena.bundle import AgentBundle
from rl_arena_app.arena.referee import Limits
from rl_arena_app.arena.run import RunResult, play

# 0.3 s: long enough that the kernel's socket timeout (counted in timer-wheel buckets of up to
# 32 ms at this length) could let a late answer through, were the referee not measuring itself.
MOVE_S = 0.3
# Every move checks what the agent is told: never less than the move limit (a negative bank),
# never more than the limit plus the whole bank. A violation is a crash forfeit with the numbers.
CHECK = """import time


def check(info):
    left, limit, bank = info["time_left_s"], info["move_timeout_s"], info["time_bank_s"]
    if not limit <= left <= limit + bank:
        raise RuntimeError(f"BANK: told {left!r}s left with a {limit}s limit and a {bank}s bank")


def answer(info):
    return int(info["action_mask"].argmax())
"""
# Sleeps 2 ms past what it was told it has.
LATE = CHECK + """

def act(observation, info):
    check(info)
    time.sleep(info["time_left_s"] + 0.002)
    return answer(info)
"""
# Answers 150 ms before the deadline: the referee's own share of a move (sending, waking up the
# agent and then itself) stays under that even on a 2-core machine at a load of 4.
EARLY = CHECK + """

def act(observation, info):
    check(info)
    time.sleep(info["time_left_s"] - 0.15)
    return answer(info)
"""
RANDOM = (Path(baselines.__file__).parent / "random_agent.py").read_text()


def duel(source_a: str, source_b: str, limits: Limits, games: int) -> RunResult:
    """Tic-tac-toe between two agents in process sandboxes, each moving first every other game."""
    bundles = [AgentBundle(ref=ref, files={"agent.py": source.encode()})
               for ref, source in (("a", source_a), ("b", source_b))]
    factories = [lambda b=b: ProcessSandbox(b) for b in bundles]
    return play(envs.spec("tictactoe"), factories, ["a", "b"], sandbox="process", seed=3,
                limits=limits, games=games)


@pytest.mark.slow
def test_an_answer_just_after_the_deadline_is_always_a_timeout() -> None:
    """20 late answers (a 0.3 s limit, no bank): each one forfeits its game on time."""
    result = duel(LATE, RANDOM, Limits(move_timeout_s=MOVE_S, time_bank_s=0.0,
                                       startup_timeout_s=10), games=20)
    for game in result.games:
        assert game.forfeit is not None, f"game {game.index}: a late answer was accepted"
        assert (game.forfeit.agent, str(game.forfeit.reason)) == (0, "timeout"), game.forfeit
        assert "no action within 0.300s" in game.forfeit.detail, game.forfeit.detail
        assert [s["agent"] for s in game.steps] == [1] * len(game.steps), \
            f"game {game.index}: a move of the late agent was played"


@pytest.mark.slow
def test_an_answer_comfortably_before_the_deadline_is_never_a_timeout() -> None:
    """Both agents answer 150 ms early over 3 games (21 moves), first spending their bank."""
    result = duel(EARLY, EARLY, Limits(move_timeout_s=MOVE_S, time_bank_s=0.2,
                                       startup_timeout_s=10), games=3)
    assert [g.forfeit for g in result.games] == [None] * 3
    moves = [s["time_s"] for g in result.games for s in g.steps]
    assert len(moves) >= 20
    # The first move of each game uses 0.05 s of the bank (0.35 s of 0.5 s), later ones fit.
    assert max(moves) > MOVE_S
