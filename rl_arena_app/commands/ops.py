"""Platform operations: up, worker, scheduler, db, matchmaking, status."""

from __future__ import annotations

import json
from typing import Any

import click

from rl_arena_app.commands.common import (
    admin_action_command,
    clean,
    handles_errors,
    progress,
)


def _configure_logging() -> None:
    from rl_arena_app.logs import configure
    from rl_arena_app.settings import get_settings

    configure(get_settings().log_format)


@click.command()
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Worker processes (default: RL_ARENA_WORKERS, 2).")
@click.option("--no-web", is_flag=True, help="Do not start the dashboard.")
@click.option("--web-port", type=click.IntRange(1, 65535), default=None,
              help="The dashboard's port (default: RL_ARENA_WEB_PORT, 3000).")
@handles_errors
def up(workers: int | None, no_web: bool, web_port: int | None) -> None:
    """Run the platform: embedded Redis, migrations, demo seed, workers, scheduler, dashboard."""
    from jobs.supervisor import json_line
    from jobs.supervisor import up as run_up
    from rl_arena_app.settings import get_settings

    _use_web_port(web_port)
    settings = get_settings()
    count = settings.workers if workers is None else workers

    def echo(line: str) -> None:
        # Children's lines can quote agents (a worker logging a build): printable, line by line.
        line = clean(line, multiline=True)
        click.echo(json_line(line) if settings.log_format == "json" else line)

    run_up(count, web=not no_web, echo=echo)


def _use_web_port(port: int | None) -> None:
    """Make ``--web-port`` the setting of this process and its children."""
    if port is not None:
        import os

        from rl_arena_app.settings import get_settings

        os.environ["RL_ARENA_WEB_PORT"] = str(port)
        get_settings.cache_clear()


@click.command()
@click.option("--web-port", type=click.IntRange(1, 65535), default=None,
              help="The dashboard's port (default: RL_ARENA_WEB_PORT, 3000).")
@click.option("--rebuild", is_flag=True, help="Build the frontend even if it is up to date.")
@click.option("--build-only", is_flag=True, help="Build the frontend (if needed) and exit.")
@handles_errors
def web(web_port: int | None, rebuild: bool, build_only: bool) -> None:
    """Serve the dashboard alone (the platform's Redis and database must be reachable)."""
    from jobs.web import build_frontend, serve
    from rl_arena_app.settings import get_settings

    _use_web_port(web_port)
    _configure_logging()
    if rebuild or build_only:
        built = build_frontend(get_settings(), echo=progress, force=rebuild)
        if build_only:
            progress("frontend built" if built else "frontend up to date")
            return
    serve(echo=progress)


@click.command()
@click.option("--name", default=None, help="Worker name (default: <host>.<pid>).")
@click.option("--burst", is_flag=True, help="Quit when the queues are empty.")
@handles_errors
def worker(name: str | None, burst: bool) -> None:
    """Run an RQ worker on the builds and matches queues."""
    from jobs.worker import run_worker

    _configure_logging()
    run_worker(name, burst=burst)


@click.command()
@handles_errors
def scheduler() -> None:
    """Run the scheduler (matchmaking, reaper, ratings); one is active, others wait."""
    from jobs.scheduler import ArenaScheduler

    _configure_logging()
    try:
        ArenaScheduler().serve()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the lock is released on the way out
        progress("scheduler stopped")


@click.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.argument("revision", default="head")
@click.option("--seed", is_flag=True, help="Then enter the house agents if this arena never had "
              "them (queues their builds: needs Redis), as `rl-arena up` does.")
@handles_errors
def db_upgrade(revision: str, seed: bool) -> None:
    """Migrate the database up to REVISION (default: head)."""
    from rl_arena_app.services.bootstrap import migrate_database, seed_if_new

    migrate_database(revision)
    progress(f"database at {revision}")
    if seed:
        made = seed_if_new()
        progress(f"entered {len(made)} house agents" if made else "house agents already in")


@db.command("downgrade")
@click.argument("revision")
@handles_errors
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION ('base' empties it)."""
    from rl_arena_app.services.bootstrap import unmigrate_database

    unmigrate_database(revision)
    progress(f"database at {revision}")


@click.group()
def matchmaking() -> None:
    """Pause or resume matchmaking of an environment."""


admin_action_command(matchmaking, "pause", "Stop making new matches in ENV (open matches still "
                     "play).")
admin_action_command(matchmaking, "resume", "Make matches in ENV again.")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@handles_errors
def status(as_json: bool) -> None:
    """Workers, queues, matches, submissions, games and rating events."""
    from rl_arena_app.services.status import platform_status

    data = platform_status()
    click.echo(json.dumps(data, default=str) if as_json else render_status(data))


def render_status(data: dict[str, Any]) -> str:
    """A few human-readable lines of ``platform_status()`` (names made printable)."""
    lines = [f"redis: {data['redis']} ({clean(data['redis_url'])}); "
             f"scheduler: {clean(data['scheduler'] or 'none active')}"]
    lines.append(f"workers: {len(data['workers'])}")
    lines += [f"  {clean(w['name'])} pid {w['pid']} {clean(w['state'])}" for w in data["workers"]]
    for name, counts in data["queues"].items():
        lines.append(f"queue {name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for key in ("matches", "submissions"):
        lines.append(f"{key}: " + ", ".join(f"{k} {v}" for k, v in data[key].items()))
    lines.append(f"games: {data['games']}; rating events: {data['rating_events']}")
    if data["matchmaking_paused"]:
        lines.append("matchmaking paused in: " + ", ".join(map(clean, data["matchmaking_paused"])))
    return "\n".join(lines)


def register(main: click.Group, ratings: click.Group) -> None:
    """Add this module's commands to the CLI."""
    for command in (up, web, worker, scheduler, db, matchmaking, status):
        main.add_command(command)
