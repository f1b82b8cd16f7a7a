"""Upload → first rated match, on the real platform (`rl-arena up`, embedded defaults).

Starts `rl-arena up` on a private data dir, waits for the seeded house agents to be ready, then
submits ``--rounds`` new connect_four agents one after another (each new code, so each builds its
own image) and times, for each: submit → ready (image built and validation games played), and
ready → its first match finished and rated. The fixed matchmaking interval stays at its default
(10 s), so the time to the first match shows what the event-driven tick gives.

``--via cli`` submits through the service (no web); ``--via browser`` logs in on the dashboard
in Debian's Chromium (development login), drops each file on `/me` and stops the clock when the
page shows the version's first rated game (what a person sees).

Prints one JSON object.
Usage: python bench/first_match_bench.py [--rounds 5] [--workers 2] [--via cli|browser]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = "connect_four"
AGENT = """\
import numpy as np

# round {round}


def act(observation, info):
    return int(np.flatnonzero(info["action_mask"])[0])
"""


def wait_for(condition, timeout_s: float, what: str) -> float:
    """Poll ``condition`` every 20 ms; the monotonic time it became true."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout_s:.0f} s")
        time.sleep(0.02)
    return time.monotonic()


def status_of(submission_id: int) -> str:
    from rl_arena_app.db.models import Submission
    from rl_arena_app.db.session import session_scope

    with session_scope() as session:
        return session.get(Submission, submission_id).status


def rated_games(submission_id: int) -> int:
    from rl_arena_app.db.models import Submission
    from rl_arena_app.db.session import session_scope

    with session_scope() as session:
        return session.get(Submission, submission_id).games


def house_ready() -> bool:
    from sqlalchemy.exc import OperationalError
    from sqlmodel import select

    from rl_arena_app.db.models import Submission, SubmissionStatus
    from rl_arena_app.db.session import session_scope

    try:
        with session_scope() as session:
            statuses = session.exec(select(Submission.status)).all()
    except OperationalError:  # the database is not migrated yet
        return False
    return bool(statuses) and all(s == SubmissionStatus.READY for s in statuses)


def browser_round(page, k: int) -> dict[str, float]:
    """Drop one new agent on /me; seconds until the page shows it ready, then rated."""
    import re

    from playwright.sync_api import expect

    page.locator("#upload-agent").click()  # after an upload the page offers its new version
    page.get_by_role("option", name="New agent…", exact=True).click()
    page.locator("#upload-name").fill(f"bench{k}")
    started = time.monotonic()
    page.locator("#agent-upload input[type=file]").set_input_files(files=[{
        "name": "agent.py", "mimeType": "text/x-python",
        "buffer": AGENT.format(round=k).encode()}])
    page.locator("#upload-button").click()
    card = page.locator(".my-agent", has_text=f"bench{k}")
    expect(card.locator(".version-card")).to_contain_text("ready", timeout=120_000)
    ready = time.monotonic()
    expect(card).to_contain_text(re.compile(r"games\s*[1-9]"), timeout=120_000)
    rated = time.monotonic()
    return {"to_ready_s": round(ready - started, 3), "ready_to_rated_s": round(rated - ready, 3),
            "upload_to_rated_s": round(rated - started, 3)}


def browser_rounds(url: str, rounds: int) -> list[dict[str, float]]:
    """Log in on the dashboard and run the rounds in one tab."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(f"{url}/login?next=/me")
        page.locator("#dev-email").fill("bench@example.org")
        page.locator("#dev-login").click()
        page.locator("#account-menu").wait_for(timeout=60_000)
        page.locator("#upload-env").click()
        page.get_by_role("option", name=ENV, exact=True).click()
        try:
            return [browser_round(page, k) for k in range(rounds)]
        finally:
            browser.close()


def web_answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def one_round(k: int, folder: Path) -> dict[str, float]:
    """Submit one new agent; seconds to ready and to its first rated match."""
    from rl_arena_app.services.submissions.intake import submit

    path = folder / f"agent{k}.py"
    path.write_text(AGENT.format(round=k))
    started = time.monotonic()
    submission = submit(str(path), env_id=ENV, name=f"bench{k}",
                        owner_email=f"bench{k}@example.org")
    ready = wait_for(lambda: status_of(submission.id) in ("ready", "failed"), 120, "ready")
    if status_of(submission.id) != "ready":
        raise RuntimeError(f"submission {submission.id} failed")
    rated = wait_for(lambda: rated_games(submission.id) > 0, 120, "a rated match")
    return {"to_ready_s": round(ready - started, 3), "ready_to_rated_s": round(rated - ready, 3),
            "upload_to_rated_s": round(rated - started, 3)}


def summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "max": round(max(values), 3),
            "min": round(min(values), 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--via", choices=("cli", "browser"), default="cli")
    parser.add_argument("--web-port", type=int, default=3917)
    args = parser.parse_args()
    url = f"http://localhost:{args.web_port}"
    with tempfile.TemporaryDirectory(prefix="rl-arena-bench-") as tmp:
        data_dir = Path(tmp) / "arena"
        env = {k: v for k, v in os.environ.items()
               if k not in ("REDIS_URL", "RL_ARENA_REDIS_URL", "RL_ARENA_DATABASE_URL")}
        env.update(RL_ARENA_DATA_DIR=str(data_dir), RL_ARENA_SANDBOX="docker",
                   RL_ARENA_WEB_PORT=str(args.web_port), RL_ARENA_DAILY_SUBMISSIONS="1000")
        os.environ.clear()
        os.environ.update(env)
        log = Path(tmp) / "up.log"
        browser = args.via == "browser"
        up = subprocess.Popen([sys.executable, "-m", "rl_arena_app.cli", "up",
                               *([] if browser else ["--no-web"]),
                               "--workers", str(args.workers)], env=env,
                              stdout=log.open("wb"), stderr=subprocess.STDOUT)
        try:
            wait_for(house_ready, 300, "the house agents")
            if browser:
                wait_for(lambda: web_answers(url), 300, "the dashboard")
            time.sleep(2)  # let the first matches of the seeded arena start
            rounds = (browser_rounds(url, args.rounds) if browser
                      else [one_round(k, Path(tmp)) for k in range(args.rounds)])
        finally:
            up.send_signal(signal.SIGINT)
            up.wait(120)
    report = {"env": ENV, "via": args.via, "workers": args.workers, "rounds": rounds,
              **{key: summary([r[key] for r in rounds])
                 for key in ("to_ready_s", "ready_to_rated_s", "upload_to_rated_s")}}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
