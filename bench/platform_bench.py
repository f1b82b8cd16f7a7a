"""Platform benchmark: end-to-end duels per minute through RQ workers in Docker, vs the engine.

Seeds random agents in connect_four on a private data dir (SQLite, embedded Redis), enqueues
``--matches`` matches and times until every one is finished by ``--workers`` worker processes
(results recorded, ratings updated). The engine's own throughput is measured in the same run: the
same kind of duels played one after another in this process, with containers, no queue, no DB.

Prints one JSON object. Usage: python bench/platform_bench.py [--matches 40] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = "connect_four"


def configure(data_dir: Path) -> None:
    """Point the platform at a private data dir before anything reads the settings."""
    os.environ["RL_ARENA_DATA_DIR"] = str(data_dir)
    os.environ["RL_ARENA_SANDBOX"] = "docker"
    for key in ("RL_ARENA_DATABASE_URL", "RL_ARENA_REDIS_URL", "REDIS_URL"):
        os.environ.pop(key, None)


def seed_agents(count: int) -> list[int]:
    """``count`` built and validated random agents of distinct owners."""
    from jobs.sandbox.docker import DockerEngine
    from jobs.tasks import configured_runner
    from rl_arena_app.services.submissions import builds, intake

    ids = []
    for n in range(count):
        submission = intake.submit("builtin:random", env_id=ENV, name=f"random{n}",
                                 owner_email=f"bench{n}@example.org", enqueue=False)
        builds.build_and_validate(submission.id, configured_runner())
        DockerEngine.drain()  # the next engine's orphan sweep must not race these removals
        ids.append(submission.id)
    return ids


def create_matches(players: list[int], count: int) -> list[int]:
    """``count`` queued matches cycling through pairs of ``players`` (not yet enqueued)."""
    from itertools import combinations

    from rl_arena_app.db.models import Match
    from rl_arena_app.db.session import session_scope

    pairs = list(combinations(players, 2))
    ids = []
    with session_scope() as session:
        for i in range(count):
            a, b = pairs[i % len(pairs)]
            match = Match(env_id=ENV, seed=i, player_a_id=a, player_b_id=b)
            session.add(match)
            session.flush()
            ids.append(match.id)
    return ids


def start_workers(count: int, log_dir: Path) -> list[subprocess.Popen]:
    """Worker processes, returned once each is registered and idle."""
    from rq import Worker

    from rl_arena_app.broker import get_redis

    env = {**os.environ, "RL_ARENA_REDIS_URL": os.environ["RL_ARENA_REDIS_URL"]}
    workers = [subprocess.Popen(
        [sys.executable, "-m", "rl_arena_app.cli", "worker", "--name", f"bench-{n}"], env=env,
        stdout=(log_dir / f"worker-{n}.log").open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True) for n in range(1, count + 1)]
    deadline = time.monotonic() + 120
    while len(Worker.all(connection=get_redis())) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"workers did not start; see {log_dir}")
        time.sleep(0.2)
    return workers


def finished(match_ids: list[int], statuses: tuple[str, ...] = ("finished", "failed")) -> int:
    """How many of ``match_ids`` are finished or failed."""
    from sqlmodel import func, select

    from rl_arena_app.db.models import Match, MatchStatus
    from rl_arena_app.db.session import session_scope

    with session_scope() as session:
        return session.exec(select(func.count()).select_from(Match).where(
            Match.id.in_(match_ids),
            Match.status.in_([MatchStatus(s) for s in statuses]))).one()


def end_to_end(match_ids: list[int], workers: int, log_dir: Path,
               timeout_s: float = 600.0) -> dict[str, float]:
    """Enqueue the matches and time the workers until all are recorded (or ``timeout_s``)."""
    from rl_arena_app.services.matches.queue import enqueue_match

    processes = start_workers(workers, log_dir)
    try:
        started = time.perf_counter()
        for match_id in match_ids:
            enqueue_match(match_id, 0)
        while finished(match_ids) < len(match_ids):
            if time.perf_counter() - started > timeout_s:
                raise RuntimeError(f"matches unfinished after {timeout_s:.0f}s; see {log_dir}")
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(60)
    return {"matches": len(match_ids), "failed": finished(match_ids, ("failed",)),
            "workers": workers, "seconds": round(elapsed, 2),
            "duels_per_min": round(len(match_ids) / elapsed * 60, 1)}


def engine_alone(players: list[int], duels: int) -> dict[str, float]:
    """The same duels, sequential in this process: fresh containers each, no queue, no DB."""
    from jobs.sandbox.docker import DockerEngine
    from jobs.sandbox.factory import runner_for
    from rl_arena_app.arena import envs
    from rl_arena_app.arena.referee import Limits
    from rl_arena_app.arena.run import play
    from rl_arena_app.db.models import Submission
    from rl_arena_app.db.session import session_scope
    from rl_arena_app.services.submissions.builds import submission_bundle
    from rl_arena_app.settings import get_settings

    settings = get_settings()
    spec = envs.spec(ENV)
    with session_scope() as session:
        subs = [session.get(Submission, players[k]) for k in (0, 1)]
    bundles = [submission_bundle(s, settings) for s in subs]
    runner = runner_for("docker", settings)
    started = time.perf_counter()
    for seed in range(duels):
        play(spec, runner.prepare(bundles).factories, ["a", "b"], sandbox="docker", seed=seed,
             limits=Limits.for_env(spec), games=spec.games)
        DockerEngine.drain()  # as a worker's job does before it ends
    elapsed = time.perf_counter() - started
    return {"duels": duels, "seconds": round(elapsed, 2),
            "duels_per_min": round(duels / elapsed * 60, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--matches", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--engine-duels", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rl-arena-bench-") as tmp:
        data_dir = Path(tmp) / "arena"
        configure(data_dir)
        from jobs.redis_server import EmbeddedRedis
        from rl_arena_app.db.migrate import upgrade
        from rl_arena_app.settings import get_settings

        with EmbeddedRedis(data_dir) as server:
            os.environ["RL_ARENA_REDIS_URL"] = server.url
            get_settings.cache_clear()
            upgrade(get_settings().db_url)
            players = seed_agents(args.agents)
            engine = engine_alone(players, args.engine_duels)
            e2e = end_to_end(create_matches(players, args.matches), args.workers, Path(tmp))
    report = {
        "env": ENV, "agents": "builtin:random", "games_per_duel": 2, "cpus": os.cpu_count(),
        "end_to_end": e2e, "engine_sequential": engine,
        "end_to_end_vs_engine": round(e2e["duels_per_min"] / engine["duels_per_min"], 2),
        "end_to_end_per_worker_vs_engine": round(
            e2e["duels_per_min"] / args.workers / engine["duels_per_min"], 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
