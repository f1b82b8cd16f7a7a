"""Live updates: one Redis subscription per web process, fanned out to the open pages.

The process's listener (a lifespan task) reads the platform's live events, coalesces them for a
moment and bumps the version of each topic they touch: the arena (feed, health, the catalog), an
environment, an agent, a match. Each topic is a shared state that pages link to for what they
show; a page's data is a computed var reading its topic's version, so only the pages whose topic
moved reload (through the services' caches), and no tab ever subscribes to Redis or polls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

import reflex as rx

from rl_arena_app.services import events, feed, status
from rl_arena_app.services.read_models import FeedItem

FEED_LENGTH = 25
COALESCE_S = 0.15  # events closer than this make one update
HEALTH_EVERY_S = 3.0



@dataclass(frozen=True, slots=True)
class Health:
    """The overview's health strip."""

    redis: str = "unknown"
    workers_alive: int = 0
    queued: int = 0
    running: int = 0
    scheduler: str = ""
    last_tick_at: str = ""  # ISO time of the latest matchmaking tick, "" when none yet


def _token(kind: str, key: object) -> str:
    """A shared-state token for a topic (tokens may not contain '_')."""
    return f"{kind}-{str(key).encode().hex()}"


class ArenaLive(rx.SharedState):
    """What every visitor shares: the live feed, the health strip, the catalog's version."""

    feed: list[FeedItem] = []
    health: Health = Health()
    _version: int = 0

    @rx.event
    async def join(self):
        """Follow the arena (a page's on_load)."""
        await self._link_to("arena")


class EnvLive(rx.SharedState):
    """An environment's version: moves with every event of that environment."""

    _version: int = 0

    @rx.event
    async def join(self):
        """Follow the environment of the page's URL."""
        await self._link_to(_token("env", self.env_id))


class AgentLive(rx.SharedState):
    """An agent's version: its matches and its versions' statuses."""

    _version: int = 0

    @rx.event
    async def join(self):
        """Follow the agent of the page's URL."""
        await self._link_to(_token("agent", self.agent_id))


class MatchLive(rx.SharedState):
    """A match's version: moves when it finishes."""

    _version: int = 0

    @rx.event
    async def join(self):
        """Follow the match of the page's URL."""
        await self._link_to(_token("match", self.match_id))


def topics_of(event: dict) -> set[tuple[type[rx.SharedState], str]]:
    """The shared states (class, token) an event moves."""
    topics: set[tuple[type[rx.SharedState], str]] = {(ArenaLive, "arena")}
    env_id = event.get("env") or event.get("env_id")
    if env_id:
        topics.add((EnvLive, _token("env", env_id)))
    for key in ("agent_a", "agent_b", "agent_id"):
        if event.get(key) is not None:
            topics.add((AgentLive, _token("agent", event[key])))
    if event.get("match_id") is not None:
        topics.add((MatchLive, _token("match", event["match_id"])))
    return topics


def feed_items(batch: Iterable[dict]) -> list[FeedItem]:
    """The feed lines of a batch of events, newest first."""
    items = [item for event in batch if (item := feed.feed_item(event)) is not None]
    return items[::-1]


def current_health() -> Health:
    """The health strip from the platform's status (blocking: call it in a thread)."""
    view = status.status_view()
    ticks = [e.last_tick_at for e in view.envs if e.last_tick_at is not None]
    return Health(redis=view.redis, workers_alive=view.workers_alive,
                  queued=view.matches.get("queued", 0), running=view.matches.get("running", 0),
                  scheduler=view.scheduler or "", last_tick_at=max(ticks).isoformat()
                  if ticks else "")


async def _apply(app: rx.App, batch: list[dict]) -> None:
    """Move every topic the batch touches; prepend its feed lines."""
    topics = set().union(*(topics_of(e) for e in batch))
    lines = feed_items(batch)
    for cls, token in topics:
        async with app.modify_state(rx.BaseStateToken(ident=token, cls=cls)) as root:
            live = await root.get_state(cls)
            live._version += 1
            if cls is ArenaLive and lines:
                live.feed = [*lines, *live.feed][:FEED_LENGTH]


async def _set_health(app: rx.App, health: Health) -> None:
    async with app.modify_state(rx.BaseStateToken(ident="arena", cls=ArenaLive)) as root:
        live = await root.get_state(ArenaLive)
        if live.health != health:
            live.health = health


async def _seed(app: rx.App) -> None:
    """The feed and health a new process starts with."""
    items = await asyncio.to_thread(feed.recent_feed, FEED_LENGTH)
    health = await asyncio.to_thread(current_health)
    async with app.modify_state(rx.BaseStateToken(ident="arena", cls=ArenaLive)) as root:
        live = await root.get_state(ArenaLive)
        live.feed, live.health = items, health


async def follow_arena(app: rx.App) -> None:
    """The process's one subscription to the live events, until the process stops."""
    await _seed(app)
    queue: asyncio.Queue[dict] = asyncio.Queue()

    async def pump() -> None:
        async for event in events.follow():
            queue.put_nowait(event)

    reader = asyncio.create_task(pump())
    try:
        await _relay(app, queue)
    finally:
        reader.cancel()


async def _relay(app: rx.App, queue: asyncio.Queue) -> None:
    """Take events as they come, coalesce them, apply them; refresh the health strip too."""
    loop = asyncio.get_running_loop()
    next_health = loop.time()
    while True:
        try:
            batch = [await asyncio.wait_for(queue.get(), timeout=1.0)]
        except TimeoutError:
            batch = []
        if batch:
            await asyncio.sleep(COALESCE_S)  # what arrives meanwhile joins this update
            while not queue.empty():
                batch.append(queue.get_nowait())
            await _apply(app, batch)
        if loop.time() >= next_health:
            next_health = loop.time() + HEALTH_EVERY_S
            await _set_health(app, await asyncio.to_thread(current_health))
