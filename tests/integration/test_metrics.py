"""`GET /metrics`: what workers counted (from a real worker process), queues, the database, and
the web's own requests; off unless turned on, guarded by a token when one is set."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx
import pytest

from rl_arena_app.api import platform_metrics
from rl_arena_app.api.app import create_api
from rl_arena_app.api.metrics import RequestMetrics
from rl_arena_app.api.request_id import RequestId
from rl_arena_app.logs import current_context
from rl_arena_app.services.matches import pairing
from rl_arena_app.settings import get_settings
from tests.support.api import person, serving
from tests.support.factory import agent_of, make_ready


def use(monkeypatch, **values: str) -> None:
    """Settings for this test (and the processes it starts)."""
    for key, value in values.items():
        monkeypatch.setenv(f"RL_ARENA_{key.upper()}", value)
    get_settings.cache_clear()


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "")
    found = re.search(rf"^{pattern} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


@pytest.fixture
def scrape(platform, monkeypatch):
    """GET /metrics of a served API behind the metrics middleware (metrics on, read afresh at
    each scrape)."""
    use(monkeypatch, metrics="1")
    monkeypatch.setattr(platform_metrics, "CACHE_S", 0.0)
    with serving(RequestMetrics(create_api())) as url, httpx.Client(base_url=url) as http:
        yield http


def test_a_worker_counts_matches_sandboxes_and_durations(scrape, monkeypatch):
    use(monkeypatch, sandbox="process")
    agents = [agent_of(person(f"p{k}@example.org"), f"bot{k}") for k in range(4)]
    make_ready(*agents)
    made = pairing.matchmaking_tick("tictactoe", seed=1)
    assert len(made) == 2
    queued = scrape.get("/metrics").text
    assert sample(queued, "rl_arena_queue_jobs", queue="matches", state="queued") == 2
    assert sample(queued, "rl_arena_matches", status="queued") == 2

    worker = subprocess.run([sys.executable, "-m", "rl_arena_app.cli", "worker", "--burst"],
                            env=os.environ.copy(), capture_output=True, text=True, timeout=240,
                            check=False)
    assert worker.returncode == 0, worker.stderr

    played = scrape.get("/metrics")
    assert played.status_code == 200
    assert played.headers["content-type"].startswith("text/plain")
    text = played.text
    assert sample(text, "rl_arena_matches_played_total", env="tictactoe") == 2
    assert sample(text, "rl_arena_matches_failed_total", env="tictactoe") == 0
    # Four sandbox uses of one built-in agent's code: two processes started for the first
    # match, forked again in the same warm sandboxes for the second.
    assert sample(text, "rl_arena_sandbox_starts_total", kind="process", warm="false") == 2
    assert sample(text, "rl_arena_sandbox_starts_total", kind="process", warm="true") == 2
    assert sample(text, "rl_arena_match_duration_seconds_count", env="tictactoe") == 2
    assert sample(text, "rl_arena_match_duration_seconds_bucket", env="tictactoe",
                  le="+Inf") == 2
    assert sample(text, "rl_arena_match_duration_seconds_sum", env="tictactoe") > 0
    assert sample(text, "rl_arena_queue_jobs", queue="matches", state="queued") == 0
    assert sample(text, "rl_arena_matches", status="finished") == 2
    assert sample(text, "rl_arena_games") == 4
    assert sample(text, "rl_arena_up", part="redis") == 1
    assert sample(text, "rl_arena_up", part="database") == 1


def test_the_web_counts_its_requests(scrape):
    assert scrape.get("/api/v1/envs").status_code == 200
    assert scrape.get("/api/v1/no-such-thing").status_code == 404
    text = scrape.get("/metrics").text
    assert sample(text, "rl_arena_web_requests_total", area="api", method="GET",
                  status="200") == 1
    assert sample(text, "rl_arena_web_requests_total", area="api", method="GET",
                  status="404") == 1
    assert sample(text, "rl_arena_web_request_duration_seconds_count", area="api") >= 2


def test_metrics_are_off_unless_turned_on(platform):
    with serving(RequestMetrics(create_api())) as url:
        assert httpx.get(f"{url}/metrics").status_code == 404


def test_a_metrics_token_guards_the_scrape(platform, monkeypatch):
    use(monkeypatch, metrics="1", metrics_token="scrape-secret")
    with serving(RequestMetrics(create_api())) as url:
        refused = httpx.get(f"{url}/metrics")
        assert refused.status_code == 401 and "scrape-secret" not in refused.text
        assert httpx.get(f"{url}/metrics",
                         headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(f"{url}/metrics",
                         headers={"Authorization": "Bearer scrape-secret"}).status_code == 200


def test_a_scrape_says_redis_is_down_instead_of_failing(scrape, monkeypatch, tmp_path):
    use(monkeypatch, redis_url=f"unix://{tmp_path}/nothing-listens.sock")
    down = scrape.get("/metrics")
    assert down.status_code == 200
    assert sample(down.text, "rl_arena_up", part="redis") == 0
    assert sample(down.text, "rl_arena_up", part="database") == 1


def test_requests_carry_a_request_id_into_logs_and_answers(monkeypatch):
    seen: list[dict] = []

    async def app(scope, receive, send):
        seen.append(current_context())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with serving(RequestId(app)) as url:  # the test talks from 127.0.0.1: a trusted proxy
        kept = httpx.get(url, headers={"X-Request-ID": "proxy-42"})
        made = httpx.get(url, headers={"X-Request-ID": "not ok; <x>"})
        monkeypatch.setenv("RL_ARENA_TRUSTED_PROXIES", "10.9.8.7")
        get_settings.cache_clear()
        ignored = httpx.get(url, headers={"X-Request-ID": "client-chosen"})
    assert kept.headers["x-request-id"] == "proxy-42"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", ignored.headers["x-request-id"])
    assert [c["request_id"] for c in seen] == ["proxy-42", made.headers["x-request-id"],
                                                ignored.headers["x-request-id"]]


def test_a_scrape_reads_the_platform_at_most_every_few_seconds(scrape, monkeypatch):
    first = sample(scrape.get("/metrics").text, "rl_arena_matches", status="queued")
    agents = [agent_of(person(f"p{k}@example.org"), f"bot{k}") for k in range(2)]
    make_ready(*agents)
    assert len(pairing.matchmaking_tick("tictactoe", seed=1)) == 1
    monkeypatch.setattr(platform_metrics, "CACHE_S", 60.0)
    cached = sample(scrape.get("/metrics").text, "rl_arena_matches", status="queued")
    monkeypatch.setattr(platform_metrics, "CACHE_S", 0.0)
    fresh = sample(scrape.get("/metrics").text, "rl_arena_matches", status="queued")
    assert (first, cached, fresh) == (0, 0, 1)


def test_odd_methods_share_one_label(scrape):
    for method in ("BREW", "PROPFIND", "X-A1"):
        scrape.request(method, "/api/v1/envs")
    text = scrape.get("/metrics").text
    assert "BREW" not in text and "PROPFIND" not in text
    assert sample(text, "rl_arena_web_requests_total", area="api", method="other",
                  status="405") == 3
