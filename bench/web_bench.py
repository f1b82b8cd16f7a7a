"""Dashboard benchmark: the read side under 10,000 agents, and the production dashboard in Chromium.

In this process, on SQLite (and on PostgreSQL when ``RL_ARENA_BENCH_PG_URL`` names a server and a
role allowed to create databases: a scratch database is made beside it and dropped at the end),
each populated by ``bench/arena_fixture.py`` with 10,000 connect_four agents and an agent with
10,000 rating events:
- a leaderboard page (50 rows, several sorts and searches): cold (first call after the env's
  data version moved) and warm (snapshot cache hit), against the raw SQL floor (the very snapshot
  query the service sends, captured and replayed through a plain DB-API cursor);
- the rating-history figure of that agent: the service, the DataFrames, the figure (by game and
  by time) and Reflex's serialisation of it, against fetching the same events through a plain
  cursor into a plain DataFrame;
- the overview's environment cards.

Then `rl-arena web` on port 3917 (the e2e tests' port, so the frontend build is reused) against
the SQLite data dir and an embedded Redis, driven by Debian's Chromium through Playwright:
navigation to the first visible leaderboard row, a published match event to the changed row,
and the web process's resident memory idle and with 20 open tabs.

Prints one JSON object (progress on stderr). Usage:
    python bench/web_bench.py [--agents 10000] [--events 10000] [--runs 15] [--navigations 10]
                              [--updates 20] [--tabs 20] [--no-browser]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ENV = "connect_four"
HISTORY_AGENT = 1  # the fixture's agent with the long rating history
WEB_PORT = 3917  # the e2e tests' port: the frontend build (which bakes the URL) is reused
WEB_URL = f"http://localhost:{WEB_PORT}"
CHROMIUM = "/usr/bin/chromium"
TARGETS = {"leaderboard_page_ms": 50, "history_figure_ms": 200, "first_row_ms": 3000,
           "live_update_ms": 2000}
# (label, sort, descending, search): the page as opened, then sorts and searches a person makes
PAGES = (("rank", "rank", False, ""), ("elo desc", "elo", True, ""),
         ("name", "name", False, ""), ("elo desc, search '7'", "elo", True, "7"),
         ("games desc, search 'agent-00'", "games", True, "agent-00"),
         ("owner, search 'owner12'", "owner", False, "owner12"),
         ("bt desc, search with no match", "bt", True, "no such agent"))
# 20 tabs over the dashboard's pages: (path, what shows that the page is loaded)
TABS = (("/", ".env-card"), (f"/envs/{ENV}", ".leaderboard-row"),
        (f"/agents/{HISTORY_AGENT}", "#rating-chart .js-plotly-plot"), ("/matches", ".match-row"),
        ("/matches/1", ".game-row"), ("/status", "#status-summary"),
        ("/envs/tictactoe", "#leaderboard-section"), ("/envs/CartPole-v1", "#leaderboard-section"),
        *((f"/agents/{k}", ".version-card") for k in range(2, 7)),
        *((f"/matches/{k}", ".game-row") for k in range(2, 5)),
        (f"/envs/{ENV}", ".leaderboard-row"), ("/", ".env-card"), (f"/envs/{ENV}", "#bt-chart"),
        ("/matches", ".match-row"))
# Installed in every page before its scripts: when the first leaderboard row is in the DOM, and
# each websocket frame received (performance.now(), Date.now(), size), to split the time.
PROBE_JS = """(() => {
  const Native = window.WebSocket;
  window.__frames = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('open', () => { window.__wsOpen ??= performance.now(); });
      this.addEventListener('message', (m) => window.__frames.push(
        [performance.now(), Date.now(), String(m.data).length]));
    }
  };
  new MutationObserver((_, observer) => {
    if (document.querySelector('.leaderboard-row')) {
      window.__firstRow = performance.now();
      observer.disconnect();
    }
  }).observe(document, {childList: true, subtree: true});
})();"""
FIRST_ROW_TIMES_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const before = window.__frames.filter(f => f[0] <= window.__firstRow);
  return {in_page_ms: window.__firstRow, html_ms: nav.responseEnd,
          dom_content_loaded_ms: nav.domContentLoadedEventEnd, ws_open_ms: window.__wsOpen,
          rows_frame_ms: before.length ? before[before.length - 1][0] : null};
}"""
ELO_CELL_JS = """() => {
  const cell = () => {
    const row = document.querySelector('.leaderboard-row');
    return row ? row.children[4].innerText.trim() : null;
  };
  window.__elo = [];
  let last = cell();
  new MutationObserver(() => {
    const now = Date.now(), text = cell();
    if (text !== last) { last = text; window.__elo.push([now, text]); }
  }).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def progress(message: str) -> None:
    print(f"[web_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------- timing


def timed(call: Callable[[], Any], runs: int,
          prepare: Callable[[], Any] | None = None) -> list[float]:
    """Milliseconds of ``runs`` calls; ``prepare`` runs untimed before each."""
    samples = []
    for _ in range(runs):
        if prepare is not None:
            prepare()
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    """Median, min and max of millisecond samples."""
    return {"median_ms": round(statistics.median(samples), 2), "min_ms": round(min(samples), 2),
            "max_ms": round(max(samples), 2), "runs": len(samples)}


def ratio(a: float, b: float) -> float:
    return round(a / b, 1) if b else float("inf")


# ------------------------------------------------------------------------------ databases


def configure(data_dir: Path, database_url: str | None) -> None:
    """Point the platform at ``data_dir`` and ``database_url`` (SQLite in the data dir: None)."""
    from rl_arena_app.settings import get_settings

    os.environ["RL_ARENA_DATA_DIR"] = str(data_dir)
    os.environ.pop("REDIS_URL", None)
    if database_url is None:
        os.environ.pop("RL_ARENA_DATABASE_URL", None)
    else:
        os.environ["RL_ARENA_DATABASE_URL"] = database_url
    get_settings.cache_clear()


@contextmanager
def postgres_scratch(server_url: str) -> Iterator[str]:
    """A fresh database beside ``server_url``'s (its role must be allowed to create databases);
    dropped afterwards."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from rl_arena_app.db.session import engine_for

    base = make_url(server_url)
    if base.get_backend_name() != "postgresql":
        sys.exit("RL_ARENA_BENCH_PG_URL must be a postgresql+psycopg:// URL, got "
                 f"{base.drivername}")
    name = f"rl_arena_bench_{secrets.token_hex(4)}"
    admin = engine_for(server_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except (OperationalError, ProgrammingError) as exc:
        sys.exit(f"cannot create a scratch database with RL_ARENA_BENCH_PG_URL "
                 f"({type(exc.orig).__name__}): give a reachable server and a role with CREATEDB")
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        engine_for(url).dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fill(agents: int, events: int) -> float:
    """Migrate the configured database and populate it; seconds taken."""
    from arena_fixture import populate

    from rl_arena_app.db.migrate import upgrade
    from rl_arena_app.settings import get_settings

    started = time.perf_counter()
    upgrade(get_settings().db_url)
    populate(agents, history_agent_events=events)
    return round(time.perf_counter() - started, 1)


# ----------------------------------------------------------------------------- leaderboard


def snapshot_statement() -> tuple[str, Any]:
    """The SQL (and parameters) a cold leaderboard page sends, captured from the engine."""
    from sqlalchemy import event

    from rl_arena_app.db.session import get_engine
    from rl_arena_app.services import events
    from rl_arena_app.services.ratings.leaderboard import leaderboard_page

    sent: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:
        sent.append((statement, parameters))

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        events.invalidate([ENV])
        leaderboard_page(ENV)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    selects = [s for s in sent if s[0].lstrip().upper().startswith("SELECT")]
    if len(selects) != 1:
        raise RuntimeError(f"expected one snapshot query, the service sent {len(selects)}")
    return selects[0]


def raw_cursor(statement: str, parameters: Any, runs: int) -> list[float]:
    """Milliseconds to execute ``statement`` and fetch every row through a plain DB-API cursor."""
    from rl_arena_app.db.session import get_engine

    connection = get_engine().raw_connection()
    rows: list[Any] = []

    def query() -> None:
        cursor = connection.cursor()
        cursor.execute(statement, parameters)
        rows[:] = cursor.fetchall()
        cursor.close()

    try:
        query()  # the connection's first statement pays for its setup
        samples = timed(query, runs)
    finally:
        connection.close()
    if not rows:
        raise RuntimeError("the raw snapshot query returned no rows")
    return samples


def leaderboard_bench(runs: int) -> dict[str, Any]:
    """Cold and warm pages for each sort and search, and the raw SQL floor."""
    from rl_arena_app.services import events
    from rl_arena_app.services.ratings.leaderboard import leaderboard_page

    statement, parameters = snapshot_statement()
    floor = summary(raw_cursor(statement, parameters, runs))
    pages = {}
    for label, sort, descending, search in PAGES:
        def page(sort=sort, descending=descending, search=search) -> None:
            leaderboard_page(ENV, sort=sort, descending=descending, search=search, limit=50)

        cold = summary(timed(page, runs, prepare=lambda: events.invalidate([ENV])))
        page()
        warm = summary(timed(page, runs * 3))
        pages[label] = {"cold": cold, "warm": warm,
                        "cold_vs_raw_sql": ratio(cold["median_ms"], floor["median_ms"])}
    total = leaderboard_page(ENV, limit=1).total
    concurrent = concurrent_cold(runs)
    colds = [p["cold"]["median_ms"] for p in pages.values()]
    warms = [p["warm"]["median_ms"] for p in pages.values()]
    return {"agents_shown": total, "raw_sql_floor": floor, "pages": pages,
            "cold_three_concurrent_readers": concurrent,
            "worst_cold_median_ms": max(colds), "worst_warm_median_ms": max(warms),
            "worst_cold_vs_raw_sql": ratio(max(colds), floor["median_ms"]),
            "target_ms": TARGETS["leaderboard_page_ms"],
            "met_cold": max(colds) <= TARGETS["leaderboard_page_ms"],
            "met_warm": max(warms) <= TARGETS["leaderboard_page_ms"]}


def concurrent_cold(runs: int) -> dict[str, Any]:
    """Three cold pages at once, as the env page's board, BT chart and heatmaps ask for them
    (each in its own thread): the wall time, and how many snapshot queries reached the DB."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import event

    from rl_arena_app.db.session import get_engine
    from rl_arena_app.services import events
    from rl_arena_app.services.ratings.leaderboard import leaderboard_page

    sent: list[str] = []

    def record(_conn, _cursor, statement, *_rest) -> None:
        if "FROM submission" in statement:
            sent.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        with ThreadPoolExecutor(3) as pool:
            def three() -> None:
                for reader in [pool.submit(leaderboard_page, ENV, limit=n) for n in (50, 30, 15)]:
                    reader.result()

            samples = timed(three, runs, prepare=lambda: events.invalidate([ENV]))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return {**summary(samples), "snapshot_queries_per_run": round(len(sent) / runs, 1)}


# --------------------------------------------------------------------------- rating history


def with_cached_snapshots(measure: Callable[[], list[float]]) -> list[float]:
    """``measure()`` while the leaderboard cache holds what a busy web process keeps after as
    many data versions as it has room for (many live objects would make each garbage collection
    longer); cleared after."""
    import gc

    from rl_arena_app.services import events
    from rl_arena_app.services.ratings.leaderboard import leaderboard_page
    from rl_arena_app.services.ratings.snapshots import _CACHE, CACHED_SNAPSHOTS

    for _ in range(CACHED_SNAPSHOTS):
        events.invalidate([ENV])
        leaderboard_page(ENV)
    try:
        return measure()
    finally:
        _CACHE.clear()
        gc.collect()


def history_bench(runs: int) -> dict[str, Any]:
    """The agent page's chart: service, frames, figure, serialisation; plain DataFrame floor."""
    import pandas as pd
    from reflex_base.utils.serializers import serialize_figure
    from sqlalchemy import select

    from rl_arena_app.db.models import RatingEvent
    from rl_arena_app.db.session import get_engine
    from rl_arena_app.services.submissions.agents import rating_history
    from rl_arena_app.ui import charts

    history = rating_history(HISTORY_AGENT)
    service = summary(timed(lambda: rating_history(HISTORY_AGENT), runs))
    busy = summary(with_cached_snapshots(lambda: timed(lambda: rating_history(HISTORY_AGENT),
                                                        runs)))
    frames = summary(timed(lambda: (charts.elo_frame(history), charts.bt_frame(history)), runs))
    empty = summary(timed(lambda: charts.empty_figure(""), runs))  # hidden pages, every update
    elo, bt = charts.elo_frame(history), charts.bt_frame(history)
    figures, serialised = {}, {}
    for x in ("game_number", "at"):
        figure = charts.rating_history_figure(elo, bt, x=x)
        figures[x] = summary(timed(lambda x=x: charts.rating_history_figure(elo, bt, x=x), runs))
        serialised[x] = summary(timed(lambda figure=figure: serialize_figure(figure), runs))

    query = (select(RatingEvent.game_id, RatingEvent.at, RatingEvent.before, RatingEvent.after)
             .where(RatingEvent.submission_id == HISTORY_AGENT).order_by(RatingEvent.game_id))
    engine = get_engine()
    statement = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    fetch = summary(raw_cursor(statement, (), runs))
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(statement)
        rows = cursor.fetchall()
    finally:
        connection.close()
    plain = summary(timed(lambda: pd.DataFrame(rows, columns=["game_id", "at", "before",
                                                              "after"]), runs))
    baseline = fetch["median_ms"] + plain["median_ms"]
    totals = {x: round(service["median_ms"] + frames["median_ms"] + figures[x]["median_ms"], 2)
              for x in figures}
    return {"rating_events": len(history.elo), "bt_points": len(history.bradley_terry),
            "service": service, "service_with_full_snapshot_cache": busy, "frames": frames,
            "figure": figures,
            "serialise_as_reflex_sends_it": serialised, "empty_figure": empty,
            "baseline_plain_cursor_fetch": fetch, "baseline_plain_dataframe": plain,
            "baseline_ms": round(baseline, 2),
            "total_median_ms": totals,
            "total_vs_baseline": {x: ratio(t, baseline) for x, t in totals.items()},
            "target_ms": TARGETS["history_figure_ms"],
            "met": max(totals.values()) <= TARGETS["history_figure_ms"]}


def catalog_bench(runs: int) -> dict[str, Any]:
    """The overview's environment cards, cold (data versions moved) and warm."""
    from rl_arena_app.arena import envs
    from rl_arena_app.services import events
    from rl_arena_app.services.catalog import env_cards

    every = [spec.id for spec in envs.list_envs()]
    env_cards()
    return {"cold": summary(timed(env_cards, runs, prepare=lambda: events.invalidate(every))),
            "warm": summary(timed(env_cards, runs))}


def server_side(runs: int) -> dict[str, Any]:
    import gc

    from rl_arena_app.services.ratings.snapshots import _CACHE

    _CACHE.clear()  # snapshots are keyed by env and data version, not by database
    progress("leaderboard pages")
    board = leaderboard_bench(runs)
    _CACHE.clear()  # the history is timed on a clean heap first, then with a full cache
    gc.collect()
    progress("rating history")
    history = history_bench(runs)
    progress("environment cards")
    return {"leaderboard": board, "rating_history": history, "env_cards": catalog_bench(runs)}


# ------------------------------------------------------------------------------- the server


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def start_web(log: Path, timeout_s: float = 300.0) -> tuple[subprocess.Popen, float]:
    """`rl-arena web` on WEB_PORT against the configured platform; (process, seconds to serve)."""
    import httpx

    if port_in_use(WEB_PORT):
        sys.exit(f"port {WEB_PORT} is in use (another `rl-arena web` or the e2e tests?): wait "
                 "until it is free and run the bench again")
    env = {**os.environ, "RL_ARENA_WEB_PORT": str(WEB_PORT), "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    web = subprocess.Popen([sys.executable, "-m", "rl_arena_app.cli", "web"], env=env,
                           stdout=log.open("wb"), stderr=subprocess.STDOUT,
                           start_new_session=True)
    while True:
        if web.poll() is not None:
            raise RuntimeError(f"rl-arena web exited ({web.returncode}):\n"
                               f"{log.read_text()[-3000:]}")
        if time.perf_counter() - started > timeout_s:
            stop_web(web)
            raise RuntimeError(f"rl-arena web did not answer in {timeout_s:.0f} s")
        try:
            if httpx.get(WEB_URL, timeout=2).status_code == 200:
                return web, round(time.perf_counter() - started, 1)
        except httpx.HTTPError:
            pass
        time.sleep(0.5)


def stop_web(web: subprocess.Popen) -> None:
    """Stop the server (granian main and its worker) and wait for it."""
    if web.poll() is not None:
        return
    web.send_signal(signal.SIGINT)
    try:
        web.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(web.pid, signal.SIGKILL)  # its own session: only what this bench started
        web.wait(10)


def rss_mb(pid: int) -> dict[str, Any]:
    """Resident memory of a process and its descendants (granian main + worker)."""
    import psutil

    main = psutil.Process(pid)
    tree = [main, *main.children(recursive=True)]
    total = 0
    for process in tree:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return {"rss_mb": round(total / 2**20, 1), "processes": len(tree)}


# ------------------------------------------------------------------------------ the browser


def new_context(browser):
    """A fresh browser context (empty caches and storage) with the probes installed."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(PROBE_JS)
    return context


def first_row(browser, url: str) -> dict[str, float]:
    """Navigation to the first visible leaderboard row, in a fresh context; with the in-page
    times (from navigation start) of the HTML, DOMContentLoaded, the websocket's opening and
    the frame that brought the rows."""
    context = new_context(browser)
    try:
        page = context.new_page()
        start = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.locator(".leaderboard-row").first.wait_for(state="visible", timeout=30_000)
        wall = (time.perf_counter() - start) * 1000
        times = page.evaluate(FIRST_ROW_TIMES_JS)
    finally:
        context.close()
    return {"wall_ms": wall, **times}


def navigation_bench(browser, runs: int, first: dict[str, float]) -> dict[str, Any]:
    """Warm navigations (page caches hit) and navigations after an event moved the env's data,
    with ``first``, the navigation right after the server started."""
    from rl_arena_app.services import events

    url = f"{WEB_URL}/envs/{ENV}"
    warm = [first_row(browser, url) for _ in range(runs)]
    moved = []
    for _ in range(max(3, runs // 2)):
        events.publish("bench", env=ENV)  # the next load reads a fresh snapshot
        time.sleep(0.5)
        moved.append(first_row(browser, url))

    def of(samples: list[dict[str, float]]) -> dict[str, Any]:
        return {key: summary(values) if (values := [s[key] for s in samples
                                                    if s[key] is not None]) else None
                for key in samples[0]}

    result = {"first_after_start": {k: None if v is None else round(v, 1)
                                    for k, v in first.items()},
              "warm": of(warm), "after_data_moved": of(moved),
              "target_ms": TARGETS["first_row_ms"]}
    result["met"] = max(result[k]["wall_ms"]["median_ms"]
                        for k in ("warm", "after_data_moved")) <= TARGETS["first_row_ms"]
    return result


def set_rating(submission_id: int, rating: float) -> None:
    from sqlalchemy import update

    from rl_arena_app.db.models import Submission
    from rl_arena_app.db.session import get_engine

    with get_engine().begin() as connection:
        connection.execute(update(Submission).where(Submission.id == submission_id)
                           .values(rating=rating))


def publish_match(match_id: int, a, b, rating_a: float, before_a: float) -> float:
    """Publish a match_finished event as services.matches does; the epoch ms just before."""
    from rl_arena_app.services import events

    at = time.time() * 1000
    events.publish("match_finished", match_id=match_id, env=ENV, player_a=a.submission_id,
                   player_b=b.submission_id, points_a=2.0, points_b=0.0, rating_a=rating_a,
                   rating_b=b.elo, rating_a_before=before_a, rating_b_before=b.elo,
                   agent_a=a.agent_id, agent_b=b.agent_id, name_a=a.name, name_b=b.name,
                   version_a=a.version, version_b=b.version)
    return at


def wait_for_cell(page, text: str, timeout_s: float = 10.0) -> float | None:
    """When the first row's Elo cell first showed ``text`` (epoch ms), or None."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for when, shown in page.evaluate("() => window.__elo"):
            if shown == text:
                return when
        time.sleep(0.05)
    return None


def frame_before(page, since_ms: float, until_ms: float) -> float | None:
    """Epoch ms of the last websocket frame received in [since_ms, until_ms], or None."""
    frames = page.evaluate("() => window.__frames.map(f => f[1])")
    inside = [at for at in frames if since_ms <= at <= until_ms]
    return inside[-1] if inside else None


def live_bench(browser, updates: int) -> dict[str, Any]:
    """Publish → the top row's Elo cell changed in an open tab, ``updates`` times; with the
    arrival of the websocket frame that carried the change (server part vs browser part)."""
    from rl_arena_app.services.ratings.leaderboard import leaderboard_page

    top, second = leaderboard_page(ENV, limit=2).rows
    context = new_context(browser)
    latencies, server, missed = [], [], 0
    rating = top.elo
    try:
        page = context.new_page()
        page.goto(f"{WEB_URL}/envs/{ENV}")
        for loaded in (".leaderboard-row", "#bt-chart .js-plotly-plot",
                       "#heatmaps .js-plotly-plot"):  # an open page, done loading
            page.locator(loaded).first.wait_for(state="visible", timeout=60_000)
        time.sleep(2)
        page.evaluate(ELO_CELL_JS)
        rng = random.Random(0)
        for k in range(updates):
            before, rating = rating, rating + 1.0  # stays on top; the shown value moves by 1
            set_rating(top.submission_id, rating)
            published = publish_match(1 + k, top, second, rating, before)
            shown = wait_for_cell(page, f"{rating:.0f}")
            if shown is None:
                missed += 1
            else:
                latencies.append(shown - published)
                if (frame := frame_before(page, published, shown)) is not None:
                    server.append(frame - published)
            time.sleep(rng.uniform(0.3, 0.7))
    finally:
        context.close()
        set_rating(top.submission_id, top.elo)
    result: dict[str, Any] = {"updates": updates, "missed": missed,
                              "target_ms": TARGETS["live_update_ms"]}
    if latencies:
        result |= {"median_ms": round(statistics.median(latencies), 1),
                   "worst_ms": round(max(latencies), 1), "best_ms": round(min(latencies), 1),
                   "samples_ms": [round(v) for v in latencies],
                   "publish_to_frame": summary(server) if server else None}
        result["met"] = missed == 0 and max(latencies) <= TARGETS["live_update_ms"]
    return result


def tabs_bench(browser, web_pid: int, tabs: int) -> dict[str, Any]:
    """The web process's memory with ``tabs`` open tabs on various pages, and after closing
    them (Reflex keeps a closed tab's state in memory for an hour)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = []
    started = time.perf_counter()
    try:
        for k in range(tabs):
            path, ready = TABS[k % len(TABS)]
            page = context.new_page()
            page.goto(WEB_URL + path)
            page.locator(ready).first.wait_for(state="visible", timeout=60_000)
            opened.append(path)
        load_s = round(time.perf_counter() - started, 1)
        time.sleep(3)
        loaded = rss_mb(web_pid)
    finally:
        context.close()
    time.sleep(5)
    return {"tabs": len(opened), "pages": sorted(set(opened)), "open_all_s": load_s,
            "with_tabs": loaded, "after_closing": rss_mb(web_pid)}


def browser_side(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        sys.exit("Chromium is missing: `make setup` installs Debian's chromium")
    progress(f"starting rl-arena web on port {WEB_PORT}")
    web, serve_s = start_web(tmp / "web.log")
    try:
        time.sleep(3)
        idle = rss_mb(web.pid)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update"])
            try:
                first = first_row(browser, f"{WEB_URL}/envs/{ENV}")
                progress(f"memory with {args.tabs} tabs")  # before other tabs leave states
                tabs = tabs_bench(browser, web.pid, args.tabs)
                progress(f"first leaderboard row, {args.navigations} navigations")
                navigation = navigation_bench(browser, args.navigations, first)
                progress(f"live updates, {args.updates} events")
                live = live_bench(browser, args.updates)
            finally:
                browser.close()
        final = rss_mb(web.pid)
    finally:
        stop_web(web)
    return {"serving_after_s": serve_s, "first_leaderboard_row": navigation,
            "live_update": live, "memory": {"idle": idle, **tabs, "at_the_end": final}}


# ---------------------------------------------------------------------------------- main


def key_numbers(report: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of the report, against their targets."""
    key: dict[str, Any] = {}
    for backend in ("sqlite", "postgresql"):
        if not isinstance(part := report.get(backend), dict):
            continue
        board, history = part["leaderboard"], part["rating_history"]
        key[backend] = {
            "leaderboard_worst_cold_median_ms": board["worst_cold_median_ms"],
            "leaderboard_worst_warm_median_ms": board["worst_warm_median_ms"],
            "leaderboard_raw_sql_floor_ms": board["raw_sql_floor"]["median_ms"],
            "leaderboard_cold_vs_raw_sql": board["worst_cold_vs_raw_sql"],
            "leaderboard_three_concurrent_cold_ms":
                board["cold_three_concurrent_readers"]["median_ms"],
            "leaderboard_three_concurrent_snapshot_queries":
                board["cold_three_concurrent_readers"]["snapshot_queries_per_run"],
            "history_figure_total_ms": history["total_median_ms"],
            "history_service_ms": history["service"]["median_ms"],
            "history_service_full_snapshot_cache_ms":
                history["service_with_full_snapshot_cache"]["median_ms"],
            "history_baseline_ms": history["baseline_ms"],
            "empty_figure_ms": history["empty_figure"]["median_ms"],
            "env_cards_cold_ms": part["env_cards"]["cold"]["median_ms"],
            "env_cards_warm_ms": part["env_cards"]["warm"]["median_ms"]}
    if web := report.get("web"):
        navigation, live, memory = (web["first_leaderboard_row"], web["live_update"],
                                    web["memory"])
        key["web"] = {
            "first_row_warm_median_ms": navigation["warm"]["wall_ms"]["median_ms"],
            "first_row_after_data_moved_median_ms":
                navigation["after_data_moved"]["wall_ms"]["median_ms"],
            "first_row_first_after_start_ms": navigation["first_after_start"]["wall_ms"],
            "live_update_median_ms": live.get("median_ms"),
            "live_update_worst_ms": live.get("worst_ms"), "live_update_missed": live["missed"],
            "rss_idle_mb": memory["idle"]["rss_mb"],
            "rss_with_tabs_mb": memory["with_tabs"]["rss_mb"], "tabs": memory["tabs"],
            "rss_at_the_end_mb": memory["at_the_end"]["rss_mb"]}
    return key


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--navigations", type=int, default=10)
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--tabs", type=int, default=20)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    report: dict[str, Any] = {"env": ENV, "agents": args.agents,
                              "history_rating_events": args.events, "cpus": os.cpu_count(),
                              "load_average_start": load_average(), "targets_ms": TARGETS}
    with tempfile.TemporaryDirectory(prefix="rl-arena-web-bench-") as tmp:
        data_dir = Path(tmp) / "arena"
        configure(data_dir, None)
        from jobs.redis_server import EmbeddedRedis
        from rl_arena_app.settings import get_settings

        with EmbeddedRedis(data_dir) as server:
            os.environ["RL_ARENA_REDIS_URL"] = server.url
            get_settings.cache_clear()
            progress(f"populating SQLite: {args.agents} agents, {args.events} rating events")
            report["sqlite"] = {"populate_s": fill(args.agents, args.events),
                                **server_side(args.runs)}
            if pg_url := os.environ.get("RL_ARENA_BENCH_PG_URL"):
                with postgres_scratch(pg_url) as url:
                    configure(data_dir, url)
                    progress("populating a scratch PostgreSQL database")
                    report["postgresql"] = {"populate_s": fill(args.agents, args.events),
                                            **server_side(args.runs)}
                configure(data_dir, None)
            else:
                report["postgresql"] = "skipped: RL_ARENA_BENCH_PG_URL is unset"
            if not args.no_browser:
                report["web"] = browser_side(args, Path(tmp))
    report["load_average_end"] = load_average()
    report["key"] = key_numbers(report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
