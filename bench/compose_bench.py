"""Compose benchmark: matches per minute of the whole stack (compose.yaml on the offline stand-in
images) with 1, 2 and 4 worker replicas on this machine.

Brings up a private compose project (local storage volume, Postgres and Redis published on
loopback for this driver), submits ``--agents`` random connect_four agents through the REST API
with a token from `rl-arena token create`, waits until they are ready, stops the scheduler (no
other matches), then for each worker count: scales the workers, plays ``--warmup`` matches (warm
pools fill) and times ``--matches`` more, from enqueueing until every result is recorded.

Prints one JSON object. Usage (the app image from `make image`, stand-ins from
`make stack-images`):
python bench/compose_bench.py [--workers 1 2 4] [--matches 60] [--warmup 12] [--agents 6]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.platform_bench import ENV, RANDOM_AGENT, create_matches, finished, pairings  # noqa: E402
from tests.stack.compose_stack import Api, Stack, free_port, stack_env, wait_for  # noqa: E402


def point_at(stack: Stack) -> None:
    """Make this process's platform code use the stack's Postgres and Redis."""
    password = stack.env["POSTGRES_PASSWORD"]
    os.environ["RL_ARENA_DATABASE_URL"] = (
        f"postgresql+psycopg://rl_arena:{password}@127.0.0.1:"
        f"{stack.published_port('postgres', 5432)}/rl_arena")
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{stack.published_port('redis', 6379)}/0"
    os.environ.pop("RL_ARENA_REDIS_URL", None)


def submit_agents(stack: Stack, count: int) -> list[int]:
    """``count`` distinct random agents, submitted through the API; their submission ids."""
    token = stack.exec("web", "rl-arena", "token", "create", "bench@example.org").strip()
    api = Api(f"http://localhost:{stack.env['RL_ARENA_WEB_PORT']}", token)
    source = RANDOM_AGENT.read_text()
    made = [api.submit(ENV, f"random{n}", f"{source}\n# bench agent {n}\n")
            for n in range(count)]
    ids = [m["agent"]["submission_id"] for m in made]
    wait_for(lambda: all(api.get(f"/submissions/{i}")["version"]["status"] == "ready"
                         for i in ids), 600, "the bench agents ready", stack.logs)
    return ids


def timed_round(pairs: list[tuple[int, int]]) -> float:
    """Seconds from enqueueing ``pairs`` as matches until every one is recorded."""
    from rl_arena_app.services.matches.queue import enqueue_match

    ids = create_matches(pairs)
    start = time.monotonic()
    for match_id in ids:
        enqueue_match(match_id, 0)
    while finished(ids) < len(ids):
        time.sleep(0.2)
    failed = len(ids) - finished(ids, ("finished",))
    if failed:
        raise RuntimeError(f"{failed} of {len(ids)} matches failed")
    return time.monotonic() - start


def scale_workers(stack: Stack, count: int) -> None:
    """Exactly ``count`` worker replicas, each registered in Redis."""
    from rq import Worker

    from rl_arena_app.broker import get_redis

    stack.compose("up", "--detach", "--wait", "--no-recreate", "--scale", f"worker={count}",
                  "worker")
    wait_for(lambda: len(Worker.all(connection=get_redis())) == count, 120,
             f"{count} workers registered", stack.logs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--matches", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=12)
    parser.add_argument("--agents", type=int, default=6)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="rl-arena-compose-bench-"))
    sandbox_dir = Path("/var/tmp") / f"rl-arena-bench-{uuid.uuid4().hex[:8]}"
    stack = Stack(f"rlbench{uuid.uuid4().hex[:6]}", workdir,
                  stack_env(free_port(), sandbox_dir, {}))
    stack.overrides = {"services": {"postgres": {"ports": ["127.0.0.1::5432"]},
                                    "redis": {"ports": ["127.0.0.1::6379"]}}}
    stack.write()
    result: dict[str, Any] = {"env": ENV, "matches": args.matches, "agents": args.agents,
                              "cores": os.cpu_count(), "matches_per_min": {}}
    try:
        stack.compose("up", "--detach", "--wait", timeout_s=900)
        point_at(stack)
        players = submit_agents(stack, args.agents)
        stack.compose("stop", "scheduler")  # only the bench's matches from here on
        for count in args.workers:
            scale_workers(stack, count)
            timed_round(pairings(players, args.warmup))
            seconds = timed_round(pairings(players, args.matches))
            result["matches_per_min"][str(count)] = round(args.matches / seconds * 60, 1)
    finally:
        stack.down(volumes=True)
        shutil.rmtree(sandbox_dir, ignore_errors=True)
    base = result["matches_per_min"].get("1")
    if base:
        result["ratio_to_1_worker"] = {k: round(v / base, 2)
                                       for k, v in result["matches_per_min"].items()}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
