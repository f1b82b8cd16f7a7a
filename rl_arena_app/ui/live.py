"""Live updates: one Redis subscription per web process, pushed to the tabs that show what moved.

A page's on_load registers its tab for the topics it shows (the arena, an environment, an agent,
a match). The process's listener (a lifespan task) reads the platform's live events, coalesces
them for a moment and, for each tab registered to a topic they touch, bumps that tab's ``Live``
version: the page's data, a computed var reading it, reloads through the services' caches and
Reflex pushes the change. The listener takes one tab's state at a time (no shared state, no lock
held across tabs); no tab subscribes to Redis and nothing polls.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass

import reflex as rx

from rl_arena_app.services import events, feed, status
from rl_arena_app.services.ratings import snapshots
from rl_arena_app.services.read_models import FeedItem

log = logging.getLogger(__name__)

FEED_LENGTH = 25
COALESCE_S = 0.15  # events closer than this make one update
HEALTH_EVERY_S = 3.0
ARENA = "arena"
AUDIT = "audit"  # the admin page's audit log


@dataclass(frozen=True, slots=True)
class Health:
    """The overview's health strip."""

    redis: str = "unknown"
    workers_alive: int = 0
    queued: int = 0
    running: int = 0
    scheduler: str = ""
    last_tick_at: str = ""  # ISO time of the latest matchmaking tick, "" when none yet


class _Board:
    """What this process knows: the latest feed and health, when each topic last moved, and
    which tab shows which topics.

    A topic's version is the number of the batch of events that last moved it: the same for
    every tab, so the pages' caches are shared between tabs and never stale.
    """

    def __init__(self) -> None:
        self.feed: list[FeedItem] = []
        self.health = Health()
        self.news = 0  # moves with every change of the feed or the health strip
        self.batch = 0
        self.moved: dict[str, int] = {}
        self.topics_of: dict[str, set[str]] = {}
        self.tabs_of: dict[str, set[str]] = defaultdict(set)

    def follow(self, tab: str, topics: set[str]) -> None:
        """The tab now shows a page about ``topics`` (and nothing it showed before)."""
        self.forget(tab)
        self.topics_of[tab] = topics
        for topic in topics | {ARENA}:  # every page shows the arena's news
            self.tabs_of[topic].add(tab)

    def forget(self, tab: str) -> None:
        for topic in self.topics_of.pop(tab, set()) | {ARENA}:
            self.tabs_of[topic].discard(tab)
            if not self.tabs_of[topic]:
                del self.tabs_of[topic]

    def tabs(self, topics: set[str]) -> set[str]:
        """The tabs following any of ``topics``."""
        return set().union(*(self.tabs_of.get(t, set()) for t in topics))

    def move(self, topics: set[str]) -> None:
        """A batch of events moved ``topics``."""
        self.batch += 1
        for topic in topics:
            self.moved[topic] = self.batch

    def version(self, tab: str) -> int:
        """The version of what a tab shows: the last batch that moved one of its topics."""
        return max((self.moved.get(t, 0) for t in self.topics_of.get(tab, ())), default=0)


BOARD = _Board()


class Live(rx.State):
    """A tab's view of the live arena: the feed, the health strip, a version of what it shows."""

    feed: list[FeedItem] = []
    health: Health = Health()
    _version: int = 0
    _news: int = -1

    def _follow(self, *topics: str) -> None:
        """Register this tab for ``topics`` (the arena's when none) and bring it up to date."""
        tab = self.router.session.client_token
        BOARD.follow(tab, set(topics) or {ARENA})
        self.feed, self.health, self._news = BOARD.feed, BOARD.health, BOARD.news
        self._version = BOARD.version(tab)


def env_topic(env_id: object) -> str:
    return f"env:{env_id}"


def agent_topic(agent_id: object) -> str:
    return f"agent:{agent_id}"


def match_topic(match_id: object) -> str:
    return f"match:{match_id}"


def topics_of(event: dict) -> set[str]:
    """The topics an event moves (the audit log's only its own)."""
    if event.get("kind") == "audit":
        return {AUDIT}
    topics = {ARENA}
    env_id = event.get("env") or event.get("env_id")
    if env_id:
        topics.add(env_topic(env_id))
    for key in ("agent_a", "agent_b", "agent_id"):
        if event.get(key) is not None:
            topics.add(agent_topic(event[key]))
    if event.get("match_id") is not None:
        topics.add(match_topic(event["match_id"]))
    return topics


def shown_boards(topics: set[str]) -> list[str]:
    """The moved environments whose leaderboard an open tab shows: on the env's page, or on a
    page of the whole arena (the overview shows every env's leader)."""
    prefix = env_topic("")
    moved = sorted(t.removeprefix(prefix) for t in topics if t.startswith(prefix))
    if {ARENA} in list(BOARD.topics_of.values()):
        return moved
    return [env_id for env_id in moved if BOARD.tabs({env_topic(env_id)})]


def feed_items(batch: list[dict]) -> list[FeedItem]:
    """The feed lines of a batch of events, newest first."""
    items = [item for event in batch if (item := feed.feed_item(event)) is not None]
    return items[::-1]


def current_health() -> Health:
    """The health strip from the platform's status (blocking: call it in a thread)."""
    view = status.status_view()
    ticks = [e.last_tick_at for e in view.envs if e.last_tick_at is not None]
    return Health(redis=view.redis, workers_alive=view.workers_alive,
                  queued=view.matches.get("queued", 0), running=view.matches.get("running", 0),
                  scheduler=view.scheduler or "",
                  last_tick_at=max(ticks).isoformat() if ticks else "")


async def _push(app: rx.App, tabs: set[str] | None = None) -> None:
    """Bring tabs (default: every tab) up to date: version, feed and health strip."""
    for tab in BOARD.tabs({ARENA}) if tabs is None else tabs:
        if not await _connected(app, tab):
            BOARD.forget(tab)
            continue
        async with app.modify_state(rx.BaseStateToken(ident=tab, cls=Live)) as root:
            live = await root.get_state(Live)
            if live._version != (version := BOARD.version(tab)):
                live._version = version
            if live._news != BOARD.news:
                live.feed, live.health, live._news = BOARD.feed, BOARD.health, BOARD.news


async def _connected(app: rx.App, tab: str) -> bool:
    """Whether the tab's browser is still connected to this process."""
    namespace = app.event_namespace
    return namespace is not None and await namespace._token_manager.is_token_connected(tab)


async def _apply(app: rx.App, batch: list[dict]) -> None:
    """Push a batch of events to the tabs showing what they moved."""
    topics = set().union(*(topics_of(e) for e in batch))
    BOARD.move(topics)
    if boards := shown_boards(topics):  # read once here, not by each tab's page beside another
        await asyncio.to_thread(snapshots.warm, boards)
    if lines := feed_items(batch):
        BOARD.feed = [*lines, *BOARD.feed][:FEED_LENGTH]
        BOARD.news += 1
        await _push(app)
    else:  # only the tabs showing what moved
        await _push(app, BOARD.tabs(topics))


async def follow_arena(app: rx.App) -> None:
    """The process's one subscription to the live events, until the process stops."""
    BOARD.feed = await asyncio.to_thread(feed.recent_feed, FEED_LENGTH)
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
        try:
            if batch:
                await asyncio.sleep(COALESCE_S)  # what arrives meanwhile joins this update
                while not queue.empty():
                    batch.append(queue.get_nowait())
                await _apply(app, batch)
            if loop.time() >= next_health:
                next_health = loop.time() + HEALTH_EVERY_S
                await _refresh_health(app)
        except Exception:  # a database or Redis outage must not end live updates for good
            log.exception("live update failed; the next event or health check retries")


async def _refresh_health(app: rx.App) -> None:
    """Push the health strip to every tab when it changed."""
    health = await asyncio.to_thread(current_health)
    if health != BOARD.health:
        BOARD.health = health
        BOARD.news += 1
        await _push(app)
