"""The trusted referee: owns the environment, asks sandboxed agents for actions, keeps time."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rl_arena_app.arena.envs import EnvSpec, Game
from rl_arena_app.arena.games import IllegalAction
from rl_arena_app.arena.outcomes import AgentFault, Reason, move_timeout
from rl_arena_app.arena.sandbox import Sandbox, SandboxFactory
from rl_arena_app.core.text import printable


@dataclass(frozen=True)
class Limits:
    """Time rules: per-move limit, an overage bank per game, and a start-up allowance."""

    move_timeout_s: float
    time_bank_s: float
    startup_timeout_s: float

    @classmethod
    def for_env(
        cls,
        env: EnvSpec,
        move_timeout_s: float | None = None,
        time_bank_s: float | None = None,
        startup_timeout_s: float | None = None,
    ) -> Limits:
        """The env's defaults, with any override given."""

        def pick(value: float | None, default: float) -> float:
            return default if value is None else value

        return cls(
            pick(move_timeout_s, env.move_timeout_s),
            pick(time_bank_s, env.time_bank_s),
            pick(startup_timeout_s, env.startup_timeout_s),
        )


def derive_seed(*parts: int) -> int:
    """A stable 32-bit seed derived from a run seed and indices."""
    return int(np.random.SeedSequence([p & 0xFFFFFFFF for p in parts]).generate_state(1)[0])


@dataclass
class Forfeit:
    """One agent lost a game by breaking a rule.

    The detail is the agent's own text (its exception, its output's tail): it is made
    ``printable`` here, where it enters the records, so stored rows, replays and reasons never
    carry escape sequences, controls or bidi overrides.
    """

    agent: int
    reason: Reason
    detail: str
    # Lost before the agent started, so before it saw any observation of the run.
    at_start: bool = False

    def __post_init__(self) -> None:
        self.detail = printable(self.detail, multiline=True)

    def to_json(self) -> dict[str, Any]:
        return {"agent": self.agent, "reason": str(self.reason), "detail": self.detail,
                "at_start": self.at_start}


@dataclass
class GameRecord:
    """What happened in one game or episode, in agent (command-line) indices."""

    index: int
    seed: int
    seat_agents: list[int]
    agent_seeds: list[int]
    returns: list[float] = field(default_factory=list)  # per seat
    forfeit: Forfeit | None = None
    # Both agents could not play: nobody wins.
    both_forfeit: bool = False
    truncated: bool = False
    duration_s: float = 0.0
    started_at: float | None = None  # wall clock (Unix seconds) when play began
    initial_state: Any = None
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def winner(self) -> int | None:
        """Agent index of the winner of a duel game, None for a draw."""
        if self.both_forfeit:
            return None
        if self.forfeit is not None:
            others = [a for a in self.seat_agents if a != self.forfeit.agent]
            return others[0] if others else None
        if len(self.returns) < 2 or self.returns[0] == self.returns[1]:
            return None
        return self.seat_agents[int(np.argmax(self.returns))]

    def to_replay(self) -> dict[str, Any]:
        """Full record for the replay file."""
        return {
            "index": self.index,
            "seed": self.seed,
            "seat_agents": self.seat_agents,
            "agent_seeds": self.agent_seeds,
            "returns": self.returns,
            "winner": self.winner,
            "forfeit": self.forfeit.to_json() if self.forfeit else None,
            "truncated": self.truncated,
            "duration_s": round(self.duration_s, 6),
            "started_at": None if self.started_at is None else round(self.started_at, 6),
            "initial_state": self.initial_state,
            "steps": self.steps,
        }


class Seat:
    """One agent across a run: its sandbox, restarted after a fatal fault, or dead for good."""

    def __init__(self, agent: int, factory: SandboxFactory, limits: Limits) -> None:
        self.agent = agent
        self.factory = factory
        self.limits = limits
        self.sandbox: Sandbox | None = None
        self.dead: AgentFault | None = None
        self.images: list[str | None] = []
        self._launched_at = 0.0

    def launch(self) -> None:
        """Start a fresh sandbox (not waiting for it)."""
        self.sandbox = self.factory()
        self.images.append(self.sandbox.image)  # known now, even if the agent never starts
        self._launched_at = time.monotonic()
        try:
            self.sandbox.launch()
        except AgentFault as fault:
            self._die(fault)

    def wait_ready(self) -> None:
        """Wait for the agent to load within the start-up allowance counted from launch."""
        if self.sandbox is None or self.dead:
            return
        left = self.limits.startup_timeout_s - (time.monotonic() - self._launched_at)
        try:
            self.sandbox.wait_ready(max(left, 0.0))
        except AgentFault as fault:
            if fault.reason == Reason.TIMEOUT:
                fault = AgentFault(Reason.TIMEOUT, f"agent did not start within "
                                   f"{self.limits.startup_timeout_s:g}s (start-up allowance)")
            self._die(fault)

    def _die(self, fault: AgentFault) -> None:
        self.dead = fault
        self.discard()

    def discard(self) -> None:
        """Close the sandbox; the next game gets a fresh one."""
        if self.sandbox is not None:
            sandbox, self.sandbox = self.sandbox, None
            sandbox.close()


def start_seats(seats: Sequence[Seat]) -> None:
    """Launch every seat lacking a sandbox in parallel, then wait for each to be ready."""
    pending = [s for s in seats if s.sandbox is None and s.dead is None]
    if not pending:
        return
    # Waiting in parallel too: one slow starter must not eat the other's allowance.
    with ThreadPoolExecutor(len(pending)) as pool:
        list(pool.map(Seat.launch, pending))
        list(pool.map(Seat.wait_ready, pending))


def close_seats(seats: Sequence[Seat]) -> None:
    """Close every sandbox in parallel, even when one close fails."""
    with ThreadPoolExecutor(max(len(seats), 1)) as pool:
        list(pool.map(Seat.discard, seats))


def _reset_info(env: EnvSpec, game: Game, seat: int, seed: int, limits: Limits) -> dict[str, Any]:
    return {
        "env": env.id,
        "seed": seed,
        "player": seat,
        "action_space": game.action_space_info,
        "move_timeout_s": limits.move_timeout_s,
        "time_bank_s": limits.time_bank_s,
    }


def play_game(
    env: EnvSpec, game: Game, seats: Sequence[Seat], record: GameRecord, limits: Limits
) -> GameRecord:
    """Play one game or episode; `seats` is in seat order (seat 0 moves first)."""
    started = time.perf_counter()
    record.started_at = time.time()
    game.reset(record.seed)
    record.initial_state = game.state()
    banks = [limits.time_bank_s] * len(seats)
    fresh = [True] * len(seats)
    try:
        while (seat_index := game.to_move()) is not None:
            seat = seats[seat_index]
            observation, extra = game.observe()
            time_left = limits.move_timeout_s + banks[seat_index]
            info = {**extra, "player": seat_index, "step": len(record.steps),
                    "time_left_s": time_left}
            reset = None
            if fresh[seat_index]:
                fresh[seat_index] = False
                reset = _reset_info(env, game, seat_index, record.agent_seeds[seat_index], limits)
            assert seat.sandbox is not None
            raw, elapsed = seat.sandbox.act(observation, info, reset, time_left)
            # "Received after the deadline", precisely: the sandbox's clock starts just before the
            # observation's first byte is sent and stops once the answer has been read whole (or
            # returned, in process); an answer is late when that span exceeds `time_left`. The
            # referee judges this itself, whatever a sandbox's waiting let through (a kernel
            # socket timeout fires up to a timer bucket late: 32 ms around 1 s). The referee's
            # own share (sending, waking up for the answer) counts against the agent, so an
            # agent keeps a few milliseconds in hand.
            if elapsed > time_left:
                raise move_timeout(time_left, late_by_s=elapsed - time_left)
            overage = max(0.0, elapsed - limits.move_timeout_s)
            banks[seat_index] = max(0.0, banks[seat_index] - overage)  # rounding stays >= 0
            try:
                action = game.parse_action(raw)
            except IllegalAction as exc:
                raise AgentFault(Reason.ILLEGAL_ACTION, str(exc), fatal=False) from None
            rewards = game.step(action)
            record.steps.append({"agent": seat.agent, "seat": seat_index, "action": action,
                                 "rewards": rewards, "time_s": round(elapsed, 6),
                                 "state": game.state()})
    except AgentFault as fault:
        offender = seats[seat_index]
        record.forfeit = Forfeit(offender.agent, fault.reason, fault.detail)
        if fault.died:
            offender.dead = fault  # forfeits the rest of the run with the same reason
        if fault.fatal:
            offender.discard()
    else:
        record.returns = game.seat_returns()
        record.truncated = game.truncated()
    record.duration_s = time.perf_counter() - started
    return record


def forfeited_before_start(record: GameRecord, seats: Sequence[Seat]) -> GameRecord:
    """Record a game lost by an agent that cannot start (the first dead one)."""
    dead = [s for s in seats if s.dead is not None]
    fault = dead[0].dead
    assert fault is not None
    record.forfeit = Forfeit(dead[0].agent, fault.reason, fault.detail, at_start=True)
    record.both_forfeit = len(seats) > 1 and len(dead) == len(seats)
    return record
