"""`rl-arena submit`: upload an agent to an arena's API with a token, and follow it if asked.

The upload is checked here with the server's own bundle rules first, and against the size limit
the arena says it takes (``GET /me``), so what the server would refuse is refused before anything
is sent; a directory is packed as a .tar.gz in memory.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rl_arena_app.commands.common import clean, handles_errors, progress
from rl_arena_app.errors import BadInput
from rl_arena_app.settings import get_settings

if TYPE_CHECKING:
    from rl_arena_app.commands.remote import Arena

EXIT_FAILED = 1  # the agent was built or validated and failed: the reason is printed
EXIT_TIMED_OUT = 4
POLL_S = 1.0


def metadata_options(command: Callable) -> Callable:
    """--algorithm, --description and --source-url: what the submitter says of the version."""
    options = [
        click.option("--algorithm", default=None, help="Optional: the algorithm, e.g. PPO or "
                     "DQN (at most 40 characters, one line); shown on the leaderboard."),
        click.option("--description", default=None, help="Optional: what this version is (at "
                     "most 500 characters of plain text)."),
        click.option("--source-url", "source_url", default=None, help="Optional: where its "
                     "code is, an http:// or https:// address (no user or password)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command("submit")
@click.argument("env_id", metavar="ENV")
@click.argument("path", metavar="PATH", type=click.Path(exists=True, path_type=Path))
@click.option("--name", required=True, help="Agent name: letters, digits, '.', '_', '-'. One "
              "of yours gets a new version.")
@click.option("--url", default=None, help="The arena's address (default: RL_ARENA_PUBLIC_URL, "
              "else this machine's dashboard).")
@click.option("--token", envvar="RL_ARENA_TOKEN", default=None, show_envvar=True,
              help="Your API token (create one on /me).")
@click.option("--wait", is_flag=True, help="Follow the submission until it is ready and rated "
              "(exit 0) or failed (exit 1).")
@click.option("--timeout", type=click.FloatRange(min=1), default=900.0, show_default=True,
              help="Seconds --wait waits before giving up (exit 4).")
@click.option("--json", "as_json", is_flag=True, help="Print the submission as the API returns "
              "it (with --wait, its final state) as one JSON object on stdout; the rest goes to "
              "stderr.")
@metadata_options
@handles_errors
def submit_command(env_id: str, path: Path, name: str, url: str | None, token: str | None,
                   wait: bool, timeout: float, as_json: bool, **metadata: str | None) -> None:
    """Upload PATH (agent.py, policy.onnx, a directory, or a .zip/.tar.gz with agent.py) to ENV
    as NAME."""
    if not token:
        raise BadInput("no API token: give --token or set RL_ARENA_TOKEN (create a token on "
                       "/me in the dashboard)")
    from rl_arena_app.commands.remote import Arena
    from rl_arena_app.services.submissions.intake import Metadata, check_metadata
    from rl_arena_app.services.submissions.packing import pack_for_upload

    say = progress if as_json else click.echo  # with --json, stdout holds the JSON alone
    check_metadata(Metadata(**metadata))  # refused here before anything is packed or sent
    filename, data = pack_for_upload(path, env_id)
    fields = {"env": env_id, "name": name,
              **{k: v for k, v in metadata.items() if v is not None}}
    with Arena(url or get_settings().web_url, token) as arena:
        check_size(path, data, arena.get("/me")["max_upload_mb"])
        view = upload(arena, fields, filename, data)
        submission_id, agent = view["version"]["submission_id"], view["agent"]
        say(f"submission {submission_id}: {clean(agent['name'])} v{agent['version']} in "
            f"{clean(view['env_id'])}, {clean(view['version']['status'])}")
        say(f"{clean(arena.url)}/agents/{agent['agent_id']}")
        ended = None
        if wait:
            view, ended = follow(arena, submission_id, timeout)
    if as_json:
        click.echo(json.dumps(view))
    if ended == "failed":
        _failed(submission_id, view["version"])
    elif ended == "timed out":
        _gave_up(view, arena.url, timeout)
    elif ended == "ready":
        say(_result(view))


def check_size(path: Path, data: bytes, max_upload_mb: int) -> None:
    """BadInput when the upload is larger than the arena takes."""
    if len(data) > max_upload_mb * 2**20:
        raise BadInput(f"{path} is {len(data) / 2**20:.1f} MiB to upload, more than the "
                       f"{max_upload_mb} MiB this arena takes: leave out data, checkpoints and "
                       "virtualenvs the agent does not need")


def upload(arena: Arena, fields: dict[str, str], filename: str, data: bytes) -> dict[str, Any]:
    """POST the submission (``fields``: env, name and the metadata given) with a progress bar
    (on stderr); the server's SubmissionView."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from rl_arena_app.commands.remote import ProgressReader

    console = Console(stderr=True)
    with Progress("uploading", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("upload", total=len(data))
        stream = ProgressReader(data, lambda n: bar.advance(task, n))
        return arena.upload("/submissions", fields, filename, stream)


def follow(arena: Arena, submission_id: int,
           timeout_s: float) -> tuple[dict[str, Any], str]:
    """Poll the submission until it is ready (and, in a duel, rated) or failed, or until
    ``timeout_s`` passes; its last view and how it ended: ready, failed or timed out."""
    deadline = time.monotonic() + timeout_s
    shown = None
    while True:
        view = arena.get(f"/submissions/{submission_id}")
        version = view["version"]
        if version["status"] != shown:
            shown = version["status"]
            progress(f"submission {submission_id}: {clean(shown)}")
        if shown == "failed":
            return view, "failed"
        if shown == "ready" and (view["kind"] == "solo" or version["games"] > 0):
            return view, "ready"
        if time.monotonic() > deadline:
            return view, "timed out"
        time.sleep(POLL_S)


def _gave_up(view: dict[str, Any], url: str, timeout_s: float) -> None:
    """Say what --wait was still waiting for, and exit 4."""
    waiting = ("its first rated game (is matchmaking paused, or has it no opponent?)"
               if view["version"]["status"] == "ready" else "its build and validation")
    click.echo(f"error: gave up after {timeout_s:.0f} s waiting for {waiting}; the submission "
               f"goes on: see {clean(url)}/agents/{view['agent']['agent_id']}", err=True)
    sys.exit(EXIT_TIMED_OUT)


def _failed(submission_id: int, version: dict[str, Any]) -> None:
    """Say why the submission failed (and its log's tail), and exit 1."""
    click.echo(f"error: submission {submission_id} failed: {clean(version['reason'])}", err=True)
    if version.get("log_tail"):
        click.echo(clean(version["log_tail"], multiline=True).rstrip(), err=True)
    sys.exit(EXIT_FAILED)


def _result(view: dict[str, Any]) -> str:
    """The line that says how a ready submission did."""
    version = view["version"]
    if view["kind"] == "solo":
        return f"ready: mean return {version['score_mean']:.2f} ± {version['score_std'] or 0:.2f}"
    games = version["games"]
    return f"ready: Elo {version['elo']:.0f} after {games} rated game{'s' if games > 1 else ''}"


def register(main: click.Group, ratings: click.Group) -> None:
    """Add this module's commands to the CLI."""
    main.add_command(submit_command)
