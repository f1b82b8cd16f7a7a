"""Referee logic with scripted sandboxes: seat swap, forfeit attribution, clocks, restarts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rl_arena_app.arena import envs
from rl_arena_app.arena.outcomes import AgentFault, Reason
from rl_arena_app.arena.referee import Limits
from rl_arena_app.arena.replay import without_timing
from rl_arena_app.arena.run import play
from tests.support.agents import builtin

LIMITS = Limits(move_timeout_s=0.1, time_bank_s=0.15, startup_timeout_s=1.0)


class Scripted:
    """A stand-in sandbox: plays the first legal move, or misbehaves as told."""

    def __init__(self, log: dict[str, Any], *, fail_start: AgentFault | None = None,
                 fault_at: int | None = None, fault: AgentFault | None = None,
                 action: Any = None, elapsed: float = 0.0, late_by: float | None = None,
                 image: str | None = None) -> None:
        self.log, self.fail_start, self.fault_at, self.fault = log, fail_start, fault_at, fault
        self.action, self.elapsed, self.late_by, self.image = action, elapsed, late_by, image

    def launch(self) -> None:
        self.log["launches"] = self.log.get("launches", 0) + 1

    def wait_ready(self, timeout_s: float) -> None:
        if self.fail_start:
            raise self.fail_start

    def act(self, observation, info, reset, timeout_s):
        self.log.setdefault("timeouts", []).append(round(timeout_s, 6))
        self.log.setdefault("time_left", []).append(info["time_left_s"])
        self.log.setdefault("players", []).append(info["player"])
        self.log["moves"] = self.log.get("moves", 0) + 1  # counted across restarts
        if self.fault_at is not None and self.log["moves"] == self.fault_at:
            assert self.fault is not None
            raise self.fault
        if self.elapsed > timeout_s:
            raise AgentFault(Reason.TIMEOUT, "too slow")
        # A sandbox that lets an answer through and reports the time it measured.
        elapsed = self.elapsed if self.late_by is None else timeout_s + self.late_by
        if self.action is not None:
            return self.action, elapsed
        mask = info.get("action_mask")
        return (int(np.flatnonzero(mask)[0]) if mask is not None else 0), elapsed

    def close(self) -> None:
        self.log["closes"] = self.log.get("closes", 0) + 1


def run(env_id: str, *agents: dict[str, Any], games: int = 2, limits: Limits = LIMITS):
    logs = [{} for _ in agents]
    factories = [lambda kw=kw, log=log: Scripted(log, **kw) for kw, log in
                 zip(agents, logs, strict=True)]
    result = play(envs.spec(env_id), factories, [f"a{i}" for i in range(len(agents))],
                  sandbox="test", seed=7, limits=limits, games=games, episodes=games)
    return result.summary(), logs


def test_seats_alternate_so_first_move_advantage_cancels():
    summary, _ = run("tictactoe", {}, {}, games=4)
    assert [g["first"] for g in summary["games"]] == [0, 1, 0, 1]
    # First-legal-move play is deterministic: the first mover wins every time, so 2-2.
    assert [g["winner"] for g in summary["games"]] == [0, 1, 0, 1]
    assert summary["points"] == [2.0, 2.0]


def test_illegal_action_forfeits_only_the_offender():
    summary, logs = run("tictactoe", {}, {"action": 99})
    for game in summary["games"]:
        assert game["outcome"] == "forfeit"
        assert game["forfeit"]["agent"] == 1
        assert game["forfeit"]["reason"] == "illegal_action"
        assert game["winner"] == 0
    assert summary["points"] == [2.0, 0.0]
    assert logs[1]["launches"] == 1, "an illegal move is not fatal: the sandbox is kept"


def test_wrong_action_type_is_illegal():
    summary, _ = run("tictactoe", {}, {"action": "a"})
    assert summary["games"][0]["forfeit"]["reason"] == "illegal_action"
    assert "integer" in summary["games"][0]["forfeit"]["detail"]


def test_fatal_fault_replaces_the_sandbox_for_the_next_game():
    fault = AgentFault(Reason.PROTOCOL_ERROR, "garbage")
    summary, logs = run("tictactoe", {"fault_at": 1, "fault": fault}, {})
    first, second = summary["games"]
    assert first["forfeit"] == {"agent": 0, "reason": "protocol_error", "detail": "garbage",
                                "at_start": False}
    assert second["forfeit"] is None
    assert logs[0]["launches"] == 2 and logs[0]["closes"] == 2


def test_agent_whose_sandbox_dies_forfeits_the_rest_of_the_run():
    fault = AgentFault(Reason.RESOURCE_LIMIT, "killed by the memory limit", died=True)
    summary, logs = run("tictactoe", {"fault_at": 2, "fault": fault}, {}, games=3)
    assert [g["forfeit"] and g["forfeit"]["reason"] for g in summary["games"]] == [
        "resource_limit"] * 3
    assert {g["forfeit"]["detail"] for g in summary["games"]} == {"killed by the memory limit"}
    assert summary["points"] == [0.0, 3.0]
    assert logs[0]["launches"] == 1, "a dead sandbox is not restarted"
    assert logs[0]["moves"] == 2


@pytest.mark.parametrize("when", ["start", "move"])
def test_the_agents_words_enter_the_record_printable(when):
    """Escape sequences, controls and bidi overrides in a fault's detail (the agent's exception
    and output) never reach the record, its summary or its replay; the words stay."""
    fault = AgentFault(Reason.CRASH, "Traceback:\r\nValueError: \x1b[31mred\x1b[0m "
                       "\x1b]0;title\x07\u202egpj.exe\x00 \x9b2Jend\ttab")
    kwargs = {"fail_start": fault} if when == "start" else {"fault_at": 1, "fault": fault}
    summary, _ = run("tictactoe", kwargs, {}, games=1)
    detail = summary["games"][0]["forfeit"]["detail"]
    assert detail == "Traceback:\nValueError: red gpj.exe end\ttab"


@pytest.mark.parametrize("env_id", ["tictactoe", "CartPole-v1"])
def test_progress_hears_after_each_game_or_episode(env_id):
    told = []
    agents = [{}, {}] if envs.spec(env_id).kind == "duel" else [{}]
    play(envs.spec(env_id), [lambda log={}: Scripted(log) for _ in agents], ["a"] * len(agents),
         sandbox="test", seed=7, limits=LIMITS, games=3, episodes=3,
         progress=lambda done, total: told.append((done, total)))
    assert told == [(1, 3), (2, 3), (3, 3)]


def test_agent_that_cannot_start_forfeits_every_game():
    fault = AgentFault(Reason.CRASH, "SyntaxError")
    summary, logs = run("connect_four", {}, {"fail_start": fault}, games=3)
    assert [g["forfeit"]["agent"] for g in summary["games"]] == [1, 1, 1]
    assert {g["forfeit"]["reason"] for g in summary["games"]} == {"crash"}
    assert summary["points"] == [3.0, 0.0]
    assert logs[1]["launches"] == 1, "a dead agent is not restarted"


def test_nobody_wins_when_neither_agent_starts():
    fault = AgentFault(Reason.TIMEOUT, "slow import")
    summary, _ = run("tictactoe", {"fail_start": fault}, {"fail_start": fault})
    assert all(g["winner"] is None and g["outcome"] == "forfeit" for g in summary["games"])
    assert summary["points"] == [0.0, 0.0]


def test_overage_is_drawn_from_the_time_bank_until_it_runs_out():
    # Each move takes 0.15 s against a 0.1 s limit: 0.05 s of overage from a 0.15 s bank.
    summary, logs = run("tictactoe", {"elapsed": 0.15}, {}, games=1)
    assert logs[0]["timeouts"][:4] == [0.25, 0.2, 0.15, 0.1]
    game = summary["games"][0]
    assert game["forfeit"]["agent"] == 0 and game["forfeit"]["reason"] == "timeout"


def test_an_answer_measured_just_past_the_time_left_is_a_timeout():
    # The sandbox hands back an answer it measured 1 µs past the time the agent had.
    summary, logs = run("tictactoe", {"late_by": 1e-6}, {}, games=4)
    for game in summary["games"]:
        assert game["forfeit"]["agent"] == 0 and game["forfeit"]["reason"] == "timeout", game
        assert game["forfeit"]["detail"] == (
            "no action within 0.250s (move limit plus what was left of the time bank): "
            "the answer came 0.001 ms late")
    assert logs[0]["time_left"] == [0.25] * 4, "one answer per game, each refused"
    assert logs[0]["launches"] == 1, "an answer read late leaves the channel in step: kept"


def test_an_answer_at_the_time_left_spends_the_whole_bank_and_no_more():
    # 0.1 + 0.2 is 0.30000000000000004 in floats: drawing the overage could leave the bank at
    # -3e-17 and the next move with less than its limit.
    limits = Limits(move_timeout_s=0.1, time_bank_s=0.2, startup_timeout_s=1.0)
    summary, logs = run("tictactoe", {"late_by": 0.0}, {}, games=1, limits=limits)
    assert summary["games"][0]["forfeit"] is None
    first, *rest = logs[0]["time_left"]
    assert first == 0.1 + 0.2
    assert rest and all(left == 0.1 for left in rest), logs[0]["time_left"]


def test_the_image_is_reported_for_an_agent_that_never_starts():
    fault = AgentFault(Reason.CRASH, "ValueError: boom at import")
    summary, _ = run("tictactoe", {"image": "rl-arena/agent:a"},
                     {"fail_start": fault, "image": "rl-arena/agent:b"})
    assert [a["image"] for a in summary["agents"]] == ["rl-arena/agent:a", "rl-arena/agent:b"]
    assert {g["forfeit"]["agent"] for g in summary["games"]} == {1}


def test_solo_forfeit_scores_the_worst_return():
    fault = AgentFault(Reason.CRASH, "boom")
    summary, _ = run("CartPole-v1", {"fault_at": 3, "fault": fault}, games=2)
    first, second = summary["episodes"]
    # Two steps were rewarded before the crash, yet a forfeit scores CartPole's worst, 0.
    assert first["outcome"] == "forfeit" and first["return"] == 0.0
    assert first["forfeit"]["reason"] == "crash"
    assert second["outcome"] == "done" and second["return"] > 0
    assert summary["mean_return"] == second["return"] / 2


def test_solo_episodes_use_fixed_recorded_seeds():
    a, _ = run("CartPole-v1", {}, games=3)
    b, _ = run("CartPole-v1", {}, games=3)
    assert [e["seed"] for e in a["episodes"]] == [e["seed"] for e in b["episodes"]]
    assert len({e["seed"] for e in a["episodes"]}) == 3


@pytest.mark.parametrize("env_id", ["tictactoe", "connect_four", "CartPole-v1"])
def test_same_agents_and_seed_give_the_same_replay(env_id):
    from jobs.sandbox.inprocess import InProcessSandbox

    spec = envs.spec(env_id)
    bundles = [builtin("random", env_id)] * (2 if spec.kind == "duel" else 1)

    def replay(seed: int) -> dict:
        factories = [lambda b=b: InProcessSandbox(b) for b in bundles]
        result = play(spec, factories, ["r"] * len(bundles), sandbox="inprocess", seed=seed,
                      limits=Limits.for_env(spec), games=4, episodes=3)
        return without_timing(result.replay())

    first = replay(1)
    assert first == replay(1)
    assert first != replay(2)
    steps = first["games"][0]["steps"]
    assert steps and {"agent", "seat", "action", "rewards", "state"} <= steps[0].keys()
