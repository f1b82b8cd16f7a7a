"""Platform benchmark: duels per minute through RQ workers in Docker, warm and cold, vs the engine.

Seeds ``--agents`` distinct random agents in connect_four on a private data dir (SQLite, embedded
Redis). The same ``--matches`` matches (pairs and seeds) are played twice end to end by
``--workers`` worker processes, timed from enqueueing until every result is recorded: once with
warm sandboxes (the default) and once with ``RL_ARENA_WARM_SANDBOXES=0`` (a fresh pair of
containers per match). The engine's own rate is measured in the same run: the same duels played
back to back by this process on one warm pair of sandboxes, no queue, no database.

Prints one JSON object. Usage:
python bench/platform_bench.py [--matches 60] [--workers 2] [--agents 6] [--engine-duels 60]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path
from typing import Any

ENV = "connect_four"
RANDOM_AGENT = Path(__file__).resolve().parents[1] / "rl_arena_app/arena/baselines/random_agent.py"


def configure(data_dir: Path) -> None:
    """Point the platform at a private data dir before anything reads the settings."""
    os.environ["RL_ARENA_DATA_DIR"] = str(data_dir)
    os.environ["RL_ARENA_SANDBOX"] = "docker"
    for key in ("RL_ARENA_DATABASE_URL", "RL_ARENA_REDIS_URL", "REDIS_URL",
                "RL_ARENA_WARM_SANDBOXES"):
        os.environ.pop(key, None)


def seed_agents(count: int, folder: Path) -> list[int]:
    """``count`` built and validated random agents, each its own version (its own image)."""
    from jobs.sandbox.docker import DockerEngine
    from jobs.tasks import configured_runner
    from rl_arena_app.services.submissions import builds, intake

    ids = []
    for n in range(count):
        path = folder / f"random{n}.py"
        path.write_text(RANDOM_AGENT.read_text() + f"\n# bench agent {n}\n")
        submission = intake.submit(str(path), env_id=ENV, name=f"random{n}",
                                   owner_email=f"bench{n}@example.org", enqueue=False)
        builds.build_and_validate(submission.id, configured_runner())
        DockerEngine.drain()
        ids.append(submission.id)
    return ids


def pairings(players: list[int], count: int) -> list[tuple[int, int]]:
    """``count`` random distinct pairs of ``players`` (the same for every run: fixed seed)."""
    rng = random.Random(7)
    return [tuple(rng.sample(players, 2)) for _ in range(count)]  # type: ignore[misc]


def create_matches(pairs: list[tuple[int, int]]) -> list[int]:
    """Queued matches of ``pairs`` (not yet enqueued)."""
    from rl_arena_app.db.models import Match
    from rl_arena_app.db.session import session_scope

    ids = []
    with session_scope() as session:
        for seed, (a, b) in enumerate(pairs):
            match = Match(env_id=ENV, seed=seed, player_a_id=a, player_b_id=b)
            session.add(match)
            session.flush()
            ids.append(match.id)
    return ids


def start_workers(count: int, log_dir: Path, warm: bool) -> list[subprocess.Popen]:
    """Worker processes, returned once each is registered and idle."""
    from rq import Worker

    from rl_arena_app.broker import get_redis

    env = {**os.environ, "RL_ARENA_REDIS_URL": os.environ["RL_ARENA_REDIS_URL"]}
    if not warm:
        env["RL_ARENA_WARM_SANDBOXES"] = "0"
    tag = "warm" if warm else "cold"
    workers = [subprocess.Popen(
        [sys.executable, "-m", "rl_arena_app.cli", "worker", "--name", f"bench-{tag}-{n}"],
        env=env, stdout=(log_dir / f"worker-{tag}-{n}.log").open("wb"),
        stderr=subprocess.STDOUT, start_new_session=True) for n in range(1, count + 1)]
    deadline = time.monotonic() + 120
    while len([w for w in Worker.all(connection=get_redis()) if tag in w.name]) < count:
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


def sandbox_starts() -> dict[str, float]:
    """Docker sandbox starts the workers counted so far: warm (a pool hit) and cold."""
    from rl_arena_app.services import metrics

    starts = metrics.recorded().get("rl_arena_sandbox_starts_total", {})
    return {warm: starts.get(("docker", warm), {}).get("", 0.0) for warm in ("true", "false")}


def end_to_end(pairs: list[tuple[int, int]], workers: int, log_dir: Path, warm: bool,
               timeout_s: float = 900.0) -> dict[str, Any]:
    """Enqueue the matches and time the workers until all are recorded (or ``timeout_s``)."""
    from rl_arena_app.services.matches.queue import enqueue_match

    match_ids = create_matches(pairs)
    processes = start_workers(workers, log_dir, warm)
    before = sandbox_starts()
    try:
        started = time.perf_counter()
        for match_id in match_ids:
            enqueue_match(match_id, 0)
        while finished(match_ids) < len(match_ids):
            if time.perf_counter() - started > timeout_s:
                raise RuntimeError(f"matches unfinished after {timeout_s:.0f}s; see {log_dir}")
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        after = sandbox_starts()
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(60)
    hits, misses = (after[k] - before[k] for k in ("true", "false"))
    return {"matches": len(match_ids), "failed": finished(match_ids, ("failed",)),
            "workers": workers, "seconds": round(elapsed, 2),
            "duels_per_min": round(len(match_ids) / elapsed * 60, 1),
            "pool_hit_rate": round(hits / (hits + misses), 3) if hits + misses else None,
            "dequeue_to_first_move_ms": percentiles(first_moves_ms(match_ids))}


def first_moves_ms(match_ids: list[int]) -> list[float]:
    """Per match: from the worker taking its job (RQ's started_at) to the first move received."""
    import gzip

    from rq.job import Job

    from rl_arena_app.broker import get_redis, match_job_id
    from rl_arena_app.db.models import Match
    from rl_arena_app.db.session import session_scope
    from rl_arena_app.services.storage import read_replay

    with session_scope() as session:
        paths = {m: session.get(Match, m).replay_path for m in match_ids}
    delays = []
    for match_id in match_ids:
        job = Job.fetch(match_job_id(match_id, 0), connection=get_redis())
        first = json.loads(gzip.decompress(read_replay(paths[match_id])))["games"][0]
        taken = job.started_at.replace(tzinfo=UTC).timestamp()
        delays.append((first["started_at"] + first["steps"][0]["time_s"] - taken) * 1000)
    return delays


def percentiles(values: list[float]) -> dict[str, float]:
    """Median and 90th percentile, in the values' unit."""
    deciles = statistics.quantiles(values, n=10) if len(values) > 1 else values * 9
    return {"median": round(statistics.median(values), 1), "p90": round(deciles[8], 1)}


def engine_warm(players: list[int], pairs: list[tuple[int, int]]) -> dict[str, Any]:
    """The same duels back to back in this process on one warm pair of sandboxes; then the
    memory an idle warm sandbox holds."""
    from jobs.sandbox.factory import runner_for
    from jobs.sandbox.pool import close_pools, pool_of
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
    factories = runner_for("docker", settings).prepare(
        [submission_bundle(s) for s in subs]).factories
    play(spec, factories, ["a", "b"], sandbox="docker", seed=0, limits=Limits.for_env(spec),
         games=spec.games)  # starts the pair
    started = time.perf_counter()
    for seed in range(len(pairs)):
        play(spec, factories, ["a", "b"], sandbox="docker", seed=seed,
             limits=Limits.for_env(spec), games=spec.games)
    elapsed = time.perf_counter() - started
    rss = idle_rss_mb(pool_of("docker"))
    close_pools()
    return {"duels": len(pairs), "seconds": round(elapsed, 3),
            "duels_per_min": round(len(pairs) / elapsed * 60, 1), "idle_sandbox_rss_mb": rss}


def idle_rss_mb(pool: Any) -> float:
    """Median memory an idle warm container holds (the cgroup's usage less its file cache)."""
    held = []
    for host in pool.idle_hosts():
        stats = host.box.container.stats(stream=False)["memory_stats"]
        cache = stats.get("stats", {}).get("total_inactive_file",
                                          stats.get("stats", {}).get("inactive_file", 0))
        held.append((stats["usage"] - cache) / 2**20)
    return round(statistics.median(held), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--matches", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--agents", type=int, default=6)
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
            players = seed_agents(args.agents, Path(tmp))
            pairs = pairings(players, args.matches)
            engine = engine_warm(players, pairs)
            warm = end_to_end(pairs, args.workers, Path(tmp), warm=True)
            cold = end_to_end(pairs, args.workers, Path(tmp), warm=False)
    report = {
        "env": ENV, "agents": args.agents, "games_per_duel": 2, "cpus": os.cpu_count(),
        "matches": args.matches, "workers": args.workers,
        "warm_duels_per_min": warm["duels_per_min"],
        "cold_duels_per_min": cold["duels_per_min"],
        "engine_warm_duels_per_min": engine["duels_per_min"],
        "warm_vs_cold": round(warm["duels_per_min"] / cold["duels_per_min"], 2),
        "warm_vs_engine_warm": round(warm["duels_per_min"] / engine["duels_per_min"], 2),
        "dequeue_to_first_move_ms": warm["dequeue_to_first_move_ms"],
        "cold_dequeue_to_first_move_ms": cold["dequeue_to_first_move_ms"],
        "pool_hit_rate": warm["pool_hit_rate"],
        "idle_sandbox_rss_mb": engine["idle_sandbox_rss_mb"],
        "warm_run": warm, "cold_run": cold, "engine_warm": engine,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
