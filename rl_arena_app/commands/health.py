"""`rl-arena health [web|worker|scheduler]`: a container's healthcheck (exit 0 healthy, 1 not).

Without a role, the role is the container's own: the `rl-arena` command its main process runs
(PID 1, or the child of an init such as `docker run --init`); `up`, everything in one container,
is checked by its web (by a worker under `up --no-web`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import psutil

from rl_arena_app.commands.common import clean
from rl_arena_app.errors import BadInput, InfrastructureError

ROLES = ("web", "worker", "scheduler")
MAIN_PID = 1
CLI_NAMES = ("rl-arena", "rl_arena_app.cli")


def role_of(cmdline: list[str]) -> str | None:
    """The health role of an `rl-arena` command line (None: not one, or not a long-running
    process)."""
    for i, arg in enumerate(cmdline):
        if Path(arg).name in CLI_NAMES:
            words = [a for a in cmdline[i + 1:] if not a.startswith("-")]
            command = words[0] if words else None
            if command == "up":
                return "worker" if "--no-web" in cmdline else "web"
            return command if command in ROLES else None
    return None


def container_role() -> str | None:
    """The role of this container's main process, or of the processes an init at PID 1 runs."""
    try:
        main = psutil.Process(MAIN_PID)
        candidates = [main, *main.children()]
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    for process in candidates:
        try:
            role = role_of(process.cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied):  # ended, or another user's
            continue
        if role is not None:
            return role
    return None


def problem_of(role: str) -> str | None:
    """Why this host's ``role`` process is not healthy (None when it is)."""
    from rl_arena_app.services import health as checks

    if role == "web":
        return checks.web_problem()
    if role == "worker":
        from jobs.worker import WORKER_TTL_S

        return checks.worker_problem(WORKER_TTL_S)
    return checks.scheduler_problem()


@click.command()
@click.argument("role", required=False, type=click.Choice(ROLES))
def health(role: str | None) -> None:
    """Exit 0 when this host's ROLE process is alive, else 1 with the reason.

    web: /ping answers; worker: an RQ worker of this host has a fresh heartbeat; scheduler: the
    scheduler of this host (active or standby) ticked within its TTL. Without ROLE: the role of
    the command this container runs.
    """
    role = role or container_role()
    if role is None:
        click.echo("unhealthy: this container runs no `rl-arena web|worker|scheduler|up`: "
                   "name the role (rl-arena health web)", err=True)
        sys.exit(1)
    try:
        problem = problem_of(role)
    except (BadInput, InfrastructureError) as exc:  # settings refused: the process cannot run
        problem = str(exc)
    if problem is not None:
        click.echo(f"unhealthy: {clean(problem)}", err=True)
        sys.exit(1)
    click.echo(f"{role}: healthy")


def register(main: click.Group, ratings: click.Group) -> None:
    """Add this module's command to the CLI."""
    main.add_command(health)
