"""API benchmark: `GET /api/v1/envs/{env}/leaderboard` (50 rows of 10,000 agents) under load.

Seeds ``--agents`` connect_four agents (bench/arena_fixture.py) in a private SQLite data dir with
an embedded Redis, serves create_api() in one process (uvicorn, or granian as `rl-arena web`
does) and drives it with locust, headless, FastHttpUser, in two ways for each route:
- saturated: ``--users`` users sending back to back (the most the server gives);
- paced: requests arriving at random (Poisson) at ``--rate`` a second in all, on schedule
  whatever the answers take (the latency at the target rate).
Routes: the leaderboard at random page offsets (200 pages), the same page again with
If-None-Match (304s), and a baseline that costs the framework alone (a JSON 404 from the API's
catch-all route). Each runs once per round, ``--rounds`` rounds (interleaved, so the machine's
other work weighs on all alike); medians are reported. Before them, every page is read once
right after the env's data version moved (what a reader pays after an event).
The load comes from one address: the API's rate limits would answer most of it with 429s, so
they are off unless ``--rate-limits counted`` keeps them counting every request (at limits no
run reaches), to measure what counting costs.
Needs the bench extra: `pip install -e ".[bench]"`.

Prints one JSON object (progress on stderr). Usage:
    python bench/api_bench.py [--agents 10000] [--rounds 5] [--seconds 10] [--users 16]
                              [--rate 500] [--server uvicorn|granian] [--rate-limits off|counted]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ENV = "connect_four"
PAGES = 200  # the leaderboard pages read: offsets 0, 50, ..., 9950
TARGETS = {"leaderboard_rps": 500, "leaderboard_p99_ms": 50}
LOCUSTFILE = '''
import os
import random
import time

from locust import FastHttpUser, task

PATH = os.environ["BENCH_PATH"]
PAGES = int(os.environ["BENCH_PAGES"])
PER_USER = float(os.environ["BENCH_PER_USER_RPS"])
ETAG = os.environ.get("BENCH_ETAG")


class Reader(FastHttpUser):
    next_at = None

    def wait_time(self):
        """Back to back, or arrivals at random times (Poisson) at PER_USER a second, kept to
        their schedule whatever the answers take (an open load, as many independent readers)."""
        if PER_USER <= 0:
            return 0
        now = time.monotonic()
        self.next_at = (self.next_at or now) + random.expovariate(PER_USER)
        return max(0.0, self.next_at - now)

    @task
    def read(self):
        path = PATH.format(offset=50 * random.randrange(PAGES))
        headers = {"If-None-Match": ETAG} if ETAG else {}
        with self.client.get(path, headers=headers, name="route", catch_response=True) as got:
            if got.status_code in (200, 304, 404):
                got.success()
'''


def log(message: str) -> None:
    print(f"api_bench: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(data_dir: Path, agents: int) -> None:
    """Migrate a fresh database in ``data_dir`` and fill it with ``agents`` ready agents."""
    sys.path.insert(0, str(Path(__file__).parent))
    from arena_fixture import populate

    from rl_arena_app.db.migrate import upgrade
    from rl_arena_app.settings import get_settings

    upgrade(get_settings().db_url)
    started = time.perf_counter()
    populate(agents)
    log(f"seeded {agents} agents in {time.perf_counter() - started:.1f} s")


GRANIAN = """
from granian.constants import Interfaces
from granian.server import Server
Server(target="rl_arena_app.api.app:create_api", factory=True, address="127.0.0.1",
       port={port}, interface=Interfaces.ASGI, workers=1, log_access=False).serve()
"""


def server_command(server: str, port: int) -> list[str]:
    """uvicorn (the brief's reference) or granian (what `rl-arena web` runs), one process."""
    if server == "granian":
        return [sys.executable, "-c", GRANIAN.format(port=port)]
    return [sys.executable, "-m", "uvicorn", "--factory", "rl_arena_app.api.app:create_api",
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level",
            "warning"]


def serve(server: str, port: int, log_path: Path) -> subprocess.Popen:
    """The API served by ``server`` in one process; returned once it answers."""
    process = subprocess.Popen(server_command(server, port), stdout=log_path.open("wb"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/status", timeout=2)
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{server} did not start: {log_path.read_text()[-2000:]}")


def load(host: str, path: str, *, users: int, rate: float, seconds: int, folder: Path,
         etag: str | None = None) -> dict[str, float]:
    """One locust run; requests per second, p50/p99 in ms, failures."""
    locustfile = folder / "locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    prefix = folder / "run"
    env = {**os.environ, "BENCH_PATH": path, "BENCH_PAGES": str(PAGES),
           "BENCH_PER_USER_RPS": str(rate / users if rate else 0)}
    if etag:
        env["BENCH_ETAG"] = etag
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--host", host,
         "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s",
         "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "5"],
        env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        timeout=seconds + 120)
    with (folder / "run_stats.csv").open() as fh:
        total = next(row for row in csv.DictReader(fh) if row["Name"] == "Aggregated")
    return {"rps": float(total["Requests/s"]), "p50_ms": float(total["50%"]),
            "p99_ms": float(total["99%"]), "requests": int(total["Request Count"]),
            "failures": int(total["Failure Count"])}


def summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    """Medians of the runs of one route and mode, and every run."""
    medians = {key: statistics.median(r[key] for r in runs) for key in ("rps", "p50_ms",
                                                                         "p99_ms")}
    return {**medians, "failures": sum(r["failures"] for r in runs), "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn")
    parser.add_argument("--rate-limits", choices=("off", "counted"), default="off")
    args = parser.parse_args()
    limit = "" if args.rate_limits == "off" else "100000000/minute"
    for name in ("API_ADDRESS", "API_TOKEN", "BAD_TOKEN"):
        os.environ[f"RL_ARENA_RATE_LIMIT_{name}"] = limit
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="rl-arena-api-bench-") as tmp:
        folder = Path(tmp)
        os.environ["RL_ARENA_DATA_DIR"] = str(folder / "arena")
        for key in ("RL_ARENA_DATABASE_URL", "RL_ARENA_REDIS_URL", "REDIS_URL"):
            os.environ.pop(key, None)
        from jobs.redis_server import EmbeddedRedis

        with EmbeddedRedis(folder / "redis") as redis_server:
            os.environ["RL_ARENA_REDIS_URL"] = redis_server.url
            seed(folder / "arena", args.agents)
            port = free_port()
            host = f"http://127.0.0.1:{port}"
            server = serve(args.server, port, folder / "server.log")
            try:
                result = measure(host, args, folder)
            finally:
                server.terminate()
                server.wait(30)
    result["config"] = vars(args) | {"cpus": os.cpu_count(), "processes": 1,
                                     "load_average_before": load_before}
    print(json.dumps(result, indent=2))


def cold_pages(host: str, board: str, pages: int) -> dict[str, float]:
    """Each page once, one after another, just after the env's data version moved: the cost of
    a page no reader has asked for since the last event (rendered from the snapshot)."""
    from rl_arena_app.services import events

    events.invalidate([ENV])
    time.sleep(0.5)  # past the API's memory of the version
    took = []
    with httpx.Client(base_url=host, timeout=60) as http:
        for page in range(pages):
            started = time.perf_counter()
            got = http.get(board.format(offset=50 * page))
            took.append((time.perf_counter() - started) * 1000)
            assert got.status_code == 200 and len(got.json()["rows"]) == 50, got.text[:300]
    took.sort()
    return {"pages": pages, "p50_ms": round(statistics.median(took), 2),
            "p99_ms": round(took[int(0.99 * (len(took) - 1))], 2)}


def measure(host: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """The cold pages, then every route saturated and paced, in ``args.rounds`` rounds (each
    round runs every route once, so what else the machine does weighs on all of them alike)."""
    board = f"/api/v1/envs/{ENV}/leaderboard?limit=50&offset={{offset}}"
    result: dict[str, Any] = {"leaderboard_cold_page": cold_pages(host, board, PAGES)}
    etag = httpx.get(host + board.format(offset=0), timeout=30).headers.get("etag")
    routes = {"leaderboard": (board, None),
              "leaderboard_not_modified": (board.format(offset=0), etag),
              "baseline_404": ("/api/v1/no-such-route", None)}
    modes = {"saturated": (0.0, args.users),
             "paced": (args.rate, max(args.users, int(args.rate // 10)))}
    runs: dict[str, list[dict[str, float]]] = {}
    for round_ in range(1, args.rounds + 1):
        for label, (path, tag) in routes.items():
            for mode, (rate, users) in modes.items():
                log(f"round {round_}: {label}, {mode}")
                runs.setdefault(f"{label}_{mode}", []).append(
                    load(host, path, users=users, rate=rate, seconds=args.seconds,
                         folder=folder, etag=tag))
    result |= {name: summary(found) for name, found in runs.items()}
    board_rps = result["leaderboard_saturated"]["rps"]
    result["ratio_leaderboard_to_baseline"] = round(
        board_rps / result["baseline_404_saturated"]["rps"], 3)
    result["targets"] = TARGETS
    result["meets_targets"] = (board_rps >= TARGETS["leaderboard_rps"] and
                               result["leaderboard_paced"]["p99_ms"]
                               <= TARGETS["leaderboard_p99_ms"])
    return result


if __name__ == "__main__":
    main()
