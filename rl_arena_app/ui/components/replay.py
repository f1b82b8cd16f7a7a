"""The replay viewer shared by a match's page and a submission's validation page.

The selected game's frames (the state after each move) go to the browser once; the slider, the
previous/next buttons and play/pause move a step index, and the board is drawn from the frame at
that index. Solo episodes show the return so far and the observation values as a chart instead.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import plotly.graph_objects as go
import reflex as rx

from rl_arena_app.errors import BadInput
from rl_arena_app.services.matches.replays import match_replay, validation_replay
from rl_arena_app.services.read_models import ReplayGame, ReplayView
from rl_arena_app.ui import charts, format, routes
from rl_arena_app.ui.cache import load
from rl_arena_app.ui.components import board
from rl_arena_app.ui.components.common import empty_state
from rl_arena_app.ui.live import Live

SPEEDS = ("0.5", "1", "2", "4", "8")  # steps per second
OBSERVATION_NAMES = {
    "CartPole-v1": ("cart position", "cart velocity", "pole angle", "pole angular velocity"),
    "MountainCar-v0": ("position", "velocity"),
}


@dataclass(frozen=True, slots=True)
class MoveView:
    """One move as listed beside the board."""

    step: int
    who: str
    seat: int
    action: int | None  # None: withheld during the season
    think: str
    reward: str


@dataclass(frozen=True, slots=True)
class GameInfo:
    """The selected game's header."""

    title: str
    first: str  # who moved first (seat 1's colour)
    second: str
    outcome: str
    forfeit: str  # reason and detail when someone forfeited


def game_label(replay: ReplayView, game: ReplayGame) -> str:
    """``Game 2`` or ``Episode 3 (seed …): return 42``."""
    if replay.kind == "solo":
        total = game.returns[0] if game.returns else 0.0
        return f"Episode {game.index + 1}: return {total:g}"
    return f"Game {game.index + 1}"


def game_info(replay: ReplayView, game: ReplayGame) -> GameInfo:
    """Who played which seat and how the game ended."""
    names = replay.agents
    first = names[game.seat_agents[0]]
    second = names[game.seat_agents[1]] if len(game.seat_agents) > 1 else ""
    if game.forfeit_agent is not None:
        outcome = f"{names[game.forfeit_agent]} forfeits ({game.forfeit_reason})"
    elif replay.kind == "solo":
        outcome = f"return {(game.returns or [0.0])[0]:g} in {len(game.steps)} steps"
    elif game.winner is None:
        outcome = "draw"
    else:
        outcome = f"{names[game.winner]} wins"
    return GameInfo(title=game_label(replay, game), first=first, second=second,
                    outcome=outcome, forfeit=game.forfeit_detail or "")


def frames_of(game: ReplayGame) -> list[str]:
    """The board after every move (the initial board first), for the board games."""
    return [str(game.initial_state), *[str(step.state) for step in game.steps]]


def moves_of(replay: ReplayView, game: ReplayGame) -> list[MoveView]:
    """Each move: who, what, how long it thought."""
    return [MoveView(step=k + 1, who=replay.agents[s.agent], seat=s.seat + 1, action=s.action,
                     think=format.seconds(s.time_s),
                     reward=", ".join(f"{r:g}" for r in s.rewards))
            for k, s in enumerate(game.steps)]


def episode_chart(replay: ReplayView, game: ReplayGame, step: int) -> go.Figure:
    """A solo episode: the return so far and every observation value, the step marked."""
    initial = list(game.initial_state) if isinstance(game.initial_state, list) else []
    names = OBSERVATION_NAMES.get(replay.env_id) or tuple(
        f"observation[{i}]" for i in range(len(initial)))
    frame = charts.episode_frame(initial, [list(s.state) for s in game.steps],
                                 [s.rewards[0] if s.rewards else 0.0 for s in game.steps],
                                 list(names)[:len(initial)])
    return charts.episode_figure(frame, step)


def load_replay(source: str) -> ReplayView | None:
    """The replay a viewer source names (``match:ID`` or ``validation:SUBMISSION``)."""
    kind, _, key = source.partition(":")
    try:
        if kind == "match":
            return match_replay(int(key))
        if kind == "validation":
            return validation_replay(int(key))
    except (BadInput, ValueError):
        return None
    return None


class ReplayState(rx.State):
    """The viewer: which replay, which game, which step, playing or not."""

    source: str = ""  # "match:17" or "validation:5"; "" shows nothing
    game: str = "0"
    step: int = 0
    playing: bool = False
    speed: str = "2"

    async def _replay(self) -> ReplayView | None:
        """The source's replay (shared between tabs; a match's moves when it finishes)."""
        path = self.router.route_id
        if not self.source or not (routes.showing(path, routes.MATCH)
                                   or routes.showing(path, routes.VALIDATION)):
            return None
        live = await self.get_state(Live)
        return await load(load_replay, self.source, version=live._version)

    async def _game(self) -> tuple[ReplayView, ReplayGame] | None:
        replay = await self._replay()
        if replay is None or not replay.games:
            return None
        index = int(self.game) if self.game.isdigit() else 0
        return replay, replay.games[min(index, len(replay.games) - 1)]

    def show(self, source: str) -> None:
        """Point the viewer at a replay (its first game, at the start)."""
        self.source, self.game, self.step, self.playing = source, "0", 0, False

    @rx.var
    async def kind(self) -> str:
        """duel or solo (empty while there is no replay)."""
        replay = await self._replay()
        return "" if replay is None else replay.kind

    @rx.var
    async def env_id(self) -> str:
        replay = await self._replay()
        return "" if replay is None else replay.env_id

    @rx.var
    async def withheld(self) -> bool:
        """Whether the replay is a scoring run of the running season, shown without its moves."""
        replay = await self._replay()
        return replay is not None and replay.withheld

    @rx.var
    async def download_url(self) -> str:
        """Where the replay file downloads from (matches only)."""
        kind, _, key = self.source.partition(":")
        return routes.replay_file(key) if kind == "match" and await self._replay() else ""

    @rx.var
    async def choices(self) -> list[str]:
        """The game picker's labels, in game order (an item's value is its index)."""
        replay = await self._replay()
        if replay is None:
            return []
        return [game_label(replay, g) for g in replay.games]

    @rx.var
    async def info(self) -> GameInfo:
        selected = await self._game()
        return GameInfo("", "", "", "", "") if selected is None else game_info(*selected)

    @rx.var
    async def frames(self) -> list[str]:
        """The board after every move of the selected game (duels)."""
        selected = await self._game()
        if selected is None or selected[0].kind != "duel":
            return []
        return frames_of(selected[1])

    @rx.var
    async def moves(self) -> list[MoveView]:
        selected = await self._game()
        return [] if selected is None else moves_of(*selected)

    @rx.var
    async def episode(self) -> go.Figure:
        """A solo episode's chart at the current step."""
        selected = await self._game()
        if selected is None or selected[0].kind != "solo":
            return charts.empty_figure("")
        return episode_chart(*selected, self.step)

    @rx.var
    async def frame(self) -> str:
        """The board at the current step."""
        frames = await self.frames
        return frames[min(self.step, len(frames) - 1)] if frames else ""

    @rx.var
    async def move(self) -> str:
        """The move that led to the current step."""
        moves = await self.moves
        if not 0 < self.step <= len(moves):
            return "start of the game"
        m = moves[self.step - 1]
        played = "a withheld action" if m.action is None else m.action
        return f"move {m.step}: {m.who} (seat {m.seat}) played {played} in {m.think}"

    @rx.event
    def choose_game(self, value: str):
        """Show another game from its start."""
        self.game, self.step, self.playing = value, 0, False

    @rx.event
    async def set_step(self, value: list[int | float]):
        """Move the slider."""
        self.step = max(0, min(int(value[0]), len(await self.moves)))
        self.playing = False

    @rx.event
    def previous(self):
        self.step, self.playing = max(0, self.step - 1), False

    @rx.event
    async def next(self):
        self.step, self.playing = min(len(await self.moves), self.step + 1), False

    @rx.event
    def set_speed(self, value: str):
        self.speed = value if value in SPEEDS else "2"

    @rx.event(background=True)
    async def play(self):
        """Step through the game at the chosen speed until its end or a pause."""
        async with self:
            if self.playing:
                self.playing = False
                return
            if self.step >= len(await self.moves):
                self.step = 0
            self.playing = True
        while True:
            async with self:
                delay = 1.0 / float(self.speed)
            await asyncio.sleep(delay)
            async with self:
                if not self.playing or self.step >= len(await self.moves):
                    self.playing = False
                    return
                self.step += 1


def controls() -> rx.Component:
    s = ReplayState
    return rx.vstack(
        rx.slider(value=[s.step], min=0, max=s.moves.length(), step=1,
                  on_change=s.set_step.throttle(50), width="100%", id="step-slider"),
        rx.hstack(
            rx.icon_button(rx.icon("chevron-left"), on_click=s.previous, variant="soft",
                           id="step-prev", aria_label="previous move"),
            rx.button(rx.cond(s.playing, rx.icon("pause"), rx.icon("play")),
                      rx.cond(s.playing, "Pause", "Play"), on_click=s.play, id="play"),
            rx.icon_button(rx.icon("chevron-right"), on_click=s.next, variant="soft",
                           id="step-next", aria_label="next move"),
            rx.select(list(SPEEDS), value=s.speed, on_change=s.set_speed, size="1",
                      id="speed"),
            rx.text("steps/s", size="1", color_scheme="gray"),
            rx.spacer(),
            rx.text("step ", rx.text.span(s.step, id="step-number"), " / ", s.moves.length(),
                    size="2"),
            align="center", width="100%", wrap="wrap"),
        rx.text(s.move, size="2", color_scheme="gray", id="move-text"),
        width="100%", spacing="2")


def legend() -> rx.Component:
    info = ReplayState.info
    return rx.hstack(
        rx.hstack(rx.box(width="0.9em", height="0.9em", border_radius="50%",
                         background_color=board.SEAT_COLOURS["1"]),
                  rx.text(info.first, " (first)", size="2"), align="center", spacing="1"),
        rx.hstack(rx.box(width="0.9em", height="0.9em", border_radius="50%",
                         background_color=board.SEAT_COLOURS["2"]),
                  rx.text(info.second, size="2"), align="center", spacing="1"),
        spacing="4", wrap="wrap")


def moves_list() -> rx.Component:
    return rx.scroll_area(rx.vstack(rx.foreach(ReplayState.moves, lambda m: rx.hstack(
        rx.text(m.step, ".", size="1", color_scheme="gray", min_width="2em"),
        rx.text(m.who, size="1", weight=rx.cond(ReplayState.step == m.step, "bold", "regular")),
        rx.text("→ ", m.action, size="1"), rx.spacer(),
        rx.text(m.think, size="1", color_scheme="gray"), width="100%")),
        spacing="0", width="100%"), type="auto", scrollbars="vertical", max_height="22em",
        id="moves")


def viewer() -> rx.Component:
    """The replay viewer of the loaded replay."""
    s = ReplayState
    return rx.cond(
        s.choices.length() > 0,
        rx.vstack(
            rx.hstack(
                rx.select.root(rx.select.trigger(), rx.select.content(rx.foreach(
                    s.choices, lambda label, k: rx.select.item(label, value=k.to_string()))),
                    value=s.game, on_change=s.choose_game, id="game-picker"),
                rx.text(s.info.outcome, weight="medium", id="game-outcome"),
                rx.spacer(),
                rx.cond(s.download_url != "", rx.link(
                    rx.button(rx.icon("download"), "Replay file", variant="soft", size="1"),
                    href=s.download_url, is_external=True, id="download-replay")),
                align="center", width="100%", wrap="wrap"),
            rx.cond(s.withheld, rx.callout(
                "A scoring run of the running season: its seeds, observations and actions, and "
                "what an agent raised or printed in an episode, are withheld until the season "
                "ends, so that no one can replay or carry out these episodes. Returns, steps, "
                "timings and forfeit reasons are shown.", icon="eye-off",
                size="1", color_scheme="gray", id="replay-withheld")),
            rx.cond(s.info.forfeit != "", rx.el.details(
                rx.el.summary("forfeit detail"),
                rx.code_block(s.info.forfeit, language="log", wrap_long_lines=True,
                              width="100%"))),
            rx.cond(
                s.kind == "duel",
                rx.flex(
                    rx.vstack(legend(),
                              rx.cond(s.env_id == "connect_four", board.connect_four(s.frame),
                                      board.tictactoe(s.frame)),
                              controls(), width="100%", max_width="26em", spacing="3"),
                    rx.box(moves_list(), flex="1", min_width="14em", width="100%"),
                    direction=rx.breakpoints(initial="column", md="row"), spacing="5",
                    width="100%"),
                rx.vstack(rx.box(rx.plotly(data=s.episode, width="100%"), width="100%",
                                 id="episode-chart"),
                          controls(), width="100%")),
            spacing="3", width="100%", id="replay-viewer"),
        empty_state("No replay to show yet: a match's replay appears when it finishes."))
