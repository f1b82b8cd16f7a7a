"""The compose stack run whole, as an operator runs it: the offline stand-ins for Postgres,
Redis and nginx, the app image, two web replicas behind the proxy, two workers, object storage
(a local S3 server), then a second host's worker that shares only the URLs.

Built first by .ci/run: the app image (`make image`) and the stand-ins (`make stack-images`).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from playwright.sync_api import expect

from jobs.sandbox.docker import ENDED_ORPHAN_S
from tests.stack.compose_stack import (
    QUICK_RECOVERY,
    Api,
    Stack,
    app_overrides,
    free_port,
    host_address,
    managed_containers,
    stack_env,
    wait_for,
)
from tests.support.browser import TIMEOUT_MS, chromium, provider_login
from tests.support.s3_server import S3Server, s3_server

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ENV = "tictactoe"
# A tictactoe agent that thinks for a while over each move, so that a worker can be killed in
# the middle of its match; seeded from the game, so that replays are exact.
SLOW_AGENT = '''
import random
import time


class Agent:
    def reset(self, info):
        self.rng = random.Random(info["seed"])

    def act(self, observation, info):
        time.sleep({pause})
        return self.rng.choice([a for a, free in enumerate(info["action_mask"]) if free])
'''
EMAIL = "operator@example.org"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Chromium for this module only: its Playwright loop ends with the module."""
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def host() -> str:
    return host_address()


@pytest.fixture(scope="module")
def s3(tmp_path_factory, host: str) -> Iterator[S3Server]:
    """The object store: an S3 server on this machine, at an address containers reach."""
    with s3_server(tmp_path_factory.mktemp("s3") / "moto.log", host=host) as server:
        yield server


@pytest.fixture(scope="module")
def issuer(host: str) -> Iterator[str]:
    """An OpenID Connect provider that browsers here and the web replicas both reach."""
    import oidc_provider_mock
    from werkzeug.serving import make_server

    server = make_server(host, 0, oidc_provider_mock.app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    # Plain http on an address that is not loopback: only a test's provider may do that.
    insecure = os.environ.get("AUTHLIB_INSECURE_TRANSPORT")
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        if insecure is None:
            os.environ.pop("AUTHLIB_INSECURE_TRANSPORT", None)
        else:
            os.environ["AUTHLIB_INSECURE_TRANSPORT"] = insecure


@pytest.fixture(scope="module")
def stack(tmp_path_factory, docker_engine, s3: S3Server, issuer: str) -> Iterator[Stack]:
    """The stack, up with `--wait`: 2 web replicas (each also on a port of its own, to pin a
    tab to one), 2 workers, storage in the S3 server, logins through the provider."""
    workdir = tmp_path_factory.mktemp("stack")
    sandbox_dir = Path("/var/tmp") / f"rl-arena-stack-{uuid.uuid4().hex[:8]}"
    project = f"rlarena{uuid.uuid4().hex[:8]}"
    replica_ports = free_port_pair()
    env = stack_env(free_port(), sandbox_dir, s3.environment(project))
    env.update(RL_ARENA_OIDC_ISSUER=issuer, RL_ARENA_ALLOWED_ORIGINS=",".join(
        f"http://localhost:{port}" for port in replica_ports))
    stack = Stack(project, workdir, env)
    # The data stores publish their ports, as they do for a second host.
    services = app_overrides(QUICK_RECOVERY)
    services["web"]["ports"] = [f"{replica_ports[0]}-{replica_ports[1]}:3000"]
    stack.overrides = {"services": {**services, "postgres": {"ports": ["5432"]},
                                    "redis": {"ports": ["6379"]}}}
    stack.write()
    try:
        up(stack)
        yield stack
    finally:
        stack.down(volumes=True)
        subprocess.run(["rm", "-rf", str(sandbox_dir)], check=False)


def free_port_pair() -> tuple[int, int]:
    """Two consecutive free ports (compose hands a range's ports to a service's replicas)."""
    while True:
        first = free_port()
        if free_port_is(first + 1):
            return first, first + 1


def free_port_is(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("", port))
        except OSError:
            return False
        return True


def up(stack: Stack) -> None:
    """`up -d --wait` with two web replicas and two workers."""
    stack.compose("up", "--detach", "--wait", "--scale", "web=2", "--scale", "worker=2",
                  timeout_s=900)


def web_url(stack: Stack) -> str:
    return f"http://localhost:{stack.env['RL_ARENA_WEB_PORT']}"


def database(stack: Stack) -> psycopg.Connection:
    """The stack's Postgres, through its published port."""
    port = stack.published_port("postgres", 5432)
    return psycopg.connect(host="127.0.0.1", port=port, user="rl_arena", dbname="rl_arena",
                           password=stack.env["POSTGRES_PASSWORD"], autocommit=True)


def rows(stack: Stack, sql: str, *args: Any) -> list[tuple]:
    with database(stack) as conn:
        return conn.execute(sql, args).fetchall()


def hostnames(stack: Stack, service: str) -> set[str]:
    """The hostnames of a service's containers (compose leaves them the short container id)."""
    return {c["ID"][:12] for c in stack.containers(service, all_states=True)}


def finished_matches(stack: Stack) -> int:
    return rows(stack, "SELECT count(*) FROM matches WHERE status = 'finished'")[0][0]


def test_web_replicas_share_logins_live_updates_and_outlive_a_restart(
        stack: Stack, browser, issuer: str) -> None:
    """Point 4: a login made through the proxy holds on either replica; a tab on each replica
    sees a new agent join the leaderboard live; a tab whose replica restarts reconnects (to
    the other one, through Redis's tab state) and still follows the arena."""
    first, second = sorted(stack.containers("web"), key=lambda c: c["Name"])
    ports = [stack.published_port("web", 3000, index=n) for n in (1, 2)]
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        tab = context.new_page()
        provider_login(tab, SimpleNamespace(url=web_url(stack)), issuer, "opal",
                       "opal@example.org")
        tabs = []
        for port in ports:  # one tab on each replica, logged in with the one cookie
            pinned = context.new_page()
            pinned.goto(f"http://localhost:{port}/me")
            expect(pinned.locator("#me-email")).to_have_text("opal@example.org",
                                                             timeout=TIMEOUT_MS)
            pinned.goto(f"http://localhost:{port}/envs/{ENV}")
            expect(pinned.locator(".leaderboard-row").first).to_be_visible(timeout=TIMEOUT_MS)
            tabs.append(pinned)

        token = stack.exec("web", "rl-arena", "token", "create", EMAIL).strip()
        api = Api(web_url(stack), token)
        joined = api.submit(ENV, "newcomer", SLOW_AGENT.format(pause=0.0))["agent"]
        for pinned in tabs:  # no reload: the row arrives over each replica's websocket
            expect(pinned.locator(f'.leaderboard-row a[href$="/agents/{joined["agent_id"]}"]')
                   ).to_be_visible(timeout=180_000)

        subprocess.run(["docker", "restart", "--time", "5", first["ID"]], check=True)
        late = api.submit(ENV, "latecomer", SLOW_AGENT.format(pause=0.0))["agent"]
        expect(tabs[0].locator(f'.leaderboard-row a[href$="/agents/{late["agent_id"]}"]')
               ).to_be_visible(timeout=180_000)
        assert second["ID"] != first["ID"]
    finally:
        context.close()


def test_the_stack_plays_survives_a_killed_worker_and_a_restart(stack: Stack) -> None:
    """Point 5 of the deployment issue, in order: token, API submission, rated matches, a worker
    SIGKILLed mid-match, `down` + `up` keeping everything, no agent container left."""
    assert len(stack.containers("web")) == 2 and len(stack.containers("worker")) == 2
    token = stack.exec("web", "rl-arena", "token", "create", EMAIL).strip()
    assert token.startswith("rla_")
    api = Api(web_url(stack), token)
    names = ["quick", "steady", "ponder"]
    pauses = {"quick": 0.05, "steady": 0.2, "ponder": 0.4}
    made = [api.submit(ENV, name, SLOW_AGENT.format(pause=pauses[name])) for name in names]

    def all_ready() -> bool:
        return all(api.get(f"/submissions/{m['agent']['submission_id']}")["version"]["status"]
                   == "ready" for m in made)

    wait_for(all_ready, 300, "the three agents being built and validated", stack.logs)
    wait_for(lambda: finished_matches(stack) >= 3, 300, "three matches played", stack.logs)
    board = api.get(f"/envs/{ENV}/leaderboard")
    assert {row["name"] for row in board["rows"]} >= set(names), board

    # A worker killed in the middle of a match: the match is played again elsewhere, once.
    running = wait_for(lambda: rows(stack, "SELECT id, worker FROM matches WHERE status = "
                                           "'running' AND worker IS NOT NULL"),
                       120, "a match running", stack.logs, every_s=0.2)
    match_id, worker = running[0]
    victim = next(c for c in stack.containers("worker") if c["ID"][:12] == worker.split(":")[0])
    subprocess.run(["docker", "kill", "--signal", "KILL", victim["ID"]], check=True)
    killed_at = time.monotonic()

    wait_for(lambda: rows(stack, "SELECT status FROM matches WHERE id = %s",
                          match_id)[0][0] == "finished", 240,
             f"match {match_id} finished after its worker was killed", stack.logs)
    [(attempts,)] = rows(stack, "SELECT attempts FROM matches WHERE id = %s", match_id)
    assert attempts == 2, "the killed attempt, then one more that finished"
    wait_for(lambda: not rows(stack, "SELECT id FROM matches WHERE id <= %s AND status IN "
                                     "('running', 'queued')", match_id),
             240, "every match up to the killed one finished", stack.logs)
    games_per_match = rows(stack, "SELECT m.id, count(g.id) FROM matches m JOIN games g "
                                  "ON g.match_id = m.id WHERE m.status = 'finished' "
                                  "GROUP BY m.id")
    assert games_per_match and all(count == 2 for _, count in games_per_match), games_per_match
    per_game = rows(stack, "SELECT g.id, count(r.id) FROM games g LEFT JOIN rating_events r "
                           "ON r.game_id = g.id GROUP BY g.id")
    assert all(count == 2 for _, count in per_game), "every game rated once for both players"
    assert rows(stack, "SELECT count(*) FROM matches WHERE status = 'failed'")[0][0] == 0

    # down (volumes kept), then up: every agent, match and rating is still there. The killed
    # worker's agent containers ended with it; a worker removes such leftovers once they have
    # been ended for a minute (ENDED_ORPHAN_S), here on its way out.
    before = snapshot(stack)
    workers = hostnames(stack, "worker")
    time.sleep(max(0.0, killed_at + ENDED_ORPHAN_S + 5 - time.monotonic()))
    stack.down()
    assert managed_containers(workers) == [], "down left agent containers behind"
    up(stack)
    after = snapshot(stack)
    assert after["agents"] == before["agents"]
    assert {k: v for k, v in after["matches"].items() if k in before["matches"]} == \
        before["matches"]
    assert after["ratings"][:len(before["ratings"])] == before["ratings"]
    api = Api(web_url(stack), token)  # the token is in the database, so it still works
    assert {row["name"] for row in api.get(f"/envs/{ENV}/leaderboard")["rows"]} >= set(names)
    replay = api.client.get(f"/matches/{match_id}/replay")
    assert replay.status_code == 200 and replay.content[:2] == b"\x1f\x8b"


def snapshot(stack: Stack) -> dict[str, Any]:
    """What must outlive a restart: agents, finished matches and their points, rating events."""
    return {
        "agents": rows(stack, "SELECT id, name, env_id FROM agents ORDER BY id"),
        "matches": {m: (status, a, b) for m, status, a, b in rows(
            stack, "SELECT id, status, points_a, points_b FROM matches "
                   "WHERE status = 'finished'")},
        "ratings": rows(stack, "SELECT id, submission_id, game_id, before, after "
                               "FROM rating_events ORDER BY id"),
    }


def test_a_second_host_builds_and_plays_sharing_only_the_urls(stack: Stack, host: str,
                                                              tmp_path) -> None:
    """Point 6: a worker in another compose project (its own network, volume and sandbox
    folder) that knows only the URLs of the first project's Postgres, Redis and object store,
    as published on this machine, builds a new agent and plays its matches alone."""
    pg_port = stack.published_port("postgres", 5432)
    redis_port = stack.published_port("redis", 6379)
    password = stack.env["POSTGRES_PASSWORD"]
    shared = {
        "RL_ARENA_DATABASE_URL": f"postgresql+psycopg://rl_arena:{password}@{host}:"
                                 f"{pg_port}/rl_arena",
        "REDIS_URL": f"redis://{host}:{redis_port}/0"}
    sandbox_dir = Path("/var/tmp") / f"rl-arena-host2-{uuid.uuid4().hex[:8]}"
    # The second host's .env: the first one's, with the data host's URLs and its own folder.
    env = {**stack.env, **shared, "RL_ARENA_HOST_SANDBOX_DIR": str(sandbox_dir),
           "RL_ARENA_WEB_PORT": str(free_port())}
    second = Stack(f"{stack.project}host2", tmp_path, env)
    second.write()
    token = stack.exec("web", "rl-arena", "token", "create", EMAIL).strip()
    api = Api(web_url(stack), token)
    try:
        stack.compose("stop", "worker")  # from now on, only the second host plays
        second.compose("up", "--detach", "--wait", "--no-deps", "sandbox-dir", "worker",
                       timeout_s=600)
        far = hostnames(second, "worker")
        made = api.submit(ENV, "faraway", SLOW_AGENT.format(pause=0.01))
        submission_id = made["agent"]["submission_id"]
        wait_for(lambda: api.get(f"/submissions/{submission_id}")["version"]["status"]
                 == "ready", 300, "the second host building the new agent", second.logs)
        played = wait_for(lambda: rows(
            stack, "SELECT id, worker FROM matches WHERE status = 'finished' AND "
                   "(player_a_id = %s OR player_b_id = %s)", submission_id, submission_id),
            300, "a match of the new agent played", second.logs)
        assert {worker.split(":")[0] for _, worker in played} <= far, (played, far)
        rated = rows(stack, "SELECT count(*) FROM rating_events r JOIN games g ON g.id = "
                            "r.game_id WHERE g.match_id = %s", played[0][0])[0][0]
        assert rated == 4, "its two games are rated, for both players, in the same arena"
        board = api.get(f"/envs/{ENV}/leaderboard")
        assert "faraway" in {row["name"] for row in board["rows"]}
    finally:
        second.down(volumes=True)
        stack.compose("start", "worker")
        subprocess.run(["rm", "-rf", str(sandbox_dir)], check=False)
