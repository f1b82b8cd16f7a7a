"""A compose project of compose.yaml on this machine's engine, with the offline stand-in images,
for the whole-stack tests: the host's side of `docker compose` as an operator runs it."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

from tests.support import waiting

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
APP_IMAGE = os.environ.get("RL_ARENA_APP_IMAGE", "rl-arena/app:dev")
STAND_INS = {"POSTGRES_IMAGE": "rl-arena/postgres:15", "REDIS_IMAGE": "rl-arena/redis:7",
             "PROXY_IMAGE": "rl-arena/nginx:1"}
APP_SERVICES = ("migrate", "scheduler", "worker", "web")
T = TypeVar("T")
MANAGED_LABEL = "rl-arena.managed"
OWNER_LABEL = "rl-arena.owner"


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], T], timeout_s: float, what: str,
             logs: Callable[[], str] = str, every_s: float = 1.0) -> T:
    """Poll until ``condition()`` is truthy; its value. Fails with the stack's logs."""
    try:
        return waiting.wait_for(condition, timeout_s, what, poll_s=every_s)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{logs()[-6000:]}") from None


@dataclass
class Stack:
    """One compose project: its name, .env file and override files."""

    project: str
    workdir: Path
    env: dict[str, str]
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def env_file(self) -> Path:
        return self.workdir / f"{self.project}.env"

    @property
    def override_file(self) -> Path:
        return self.workdir / f"{self.project}.override.yaml"

    def write(self) -> None:
        """The project's .env and override file, as an operator would keep them."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in self.env.items()))
        self.override_file.write_text(yaml.safe_dump(self.overrides, sort_keys=False))

    def compose(self, *args: str, timeout_s: float = 600, check: bool = True,
                ) -> subprocess.CompletedProcess[str]:
        """`docker compose ARGS` for this project (the environment: only the .env file)."""
        command = ["docker", "compose", "--project-name", self.project,
                   "--project-directory", str(ROOT), "--env-file", str(self.env_file),
                   "-f", str(COMPOSE_FILE), "-f", str(self.override_file), *args]
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("RL_ARENA_", "POSTGRES_", "AWS_")) and k != "REDIS_URL"}
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s,
                              check=False, env=env)
        if check and done.returncode != 0:
            raise AssertionError(f"docker compose {' '.join(args)} failed ({done.returncode}):\n"
                                 f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}\n"
                                 f"{self.logs()[-6000:]}")
        return done

    def logs(self) -> str:
        """The last lines of every service's log."""
        command = ["docker", "compose", "--project-name", self.project, "--project-directory",
                   str(ROOT), "--env-file", str(self.env_file), "-f", str(COMPOSE_FILE), "-f",
                   str(self.override_file), "logs", "--no-color", "--tail", "40"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        return done.stdout + done.stderr

    def containers(self, service: str, *, all_states: bool = False) -> list[dict[str, Any]]:
        """The service's containers as `docker compose ps` lists them."""
        args = ["ps", "--format", "json", *(["--all"] if all_states else []), service]
        out = self.compose(*args).stdout.strip()
        if not out:
            return []
        rows = json.loads(out) if out.startswith("[") else [json.loads(line)
                                                           for line in out.splitlines()]
        return rows

    def published_port(self, service: str, port: int, index: int = 1) -> int:
        """The host port that replica ``index`` of a service publishes ``port`` on."""
        out = self.compose("port", "--index", str(index), service, str(port)).stdout.strip()
        return int(out.rsplit(":", 1)[1])

    def exec(self, service: str, *args: str) -> str:
        """Run a command in the service's first container; its stdout."""
        return self.compose("exec", "-T", service, *args, timeout_s=120).stdout

    def down(self, *, volumes: bool = False) -> None:
        """Stop and remove the project's containers (and its volumes if asked)."""
        self.compose("down", "--timeout", "30", *(["--volumes"] if volumes else []),
                     "--remove-orphans", timeout_s=300, check=False)


def stack_env(web_port: int, sandbox_dir: Path, storage: dict[str, str]) -> dict[str, str]:
    """A deployment's .env: production settings, the stand-in images, the given storage."""
    docker_gid = os.stat("/var/run/docker.sock").st_gid
    return {
        **STAND_INS,
        "RL_ARENA_IMAGE": APP_IMAGE,
        "RL_ARENA_SECRET_KEY": secrets.token_hex(32),
        "POSTGRES_PASSWORD": secrets.token_hex(12),
        "DOCKER_GID": str(docker_gid),
        "RL_ARENA_WEB_PORT": str(web_port),
        "RL_ARENA_PUBLIC_URL": f"http://localhost:{web_port}",
        # Production needs an identity provider; nobody logs in through it here (API tokens).
        "RL_ARENA_OIDC_ISSUER": "http://sso.invalid",
        "RL_ARENA_OIDC_CLIENT_ID": "rl-arena",
        "RL_ARENA_OIDC_CLIENT_SECRET": "unused",
        "RL_ARENA_HOST_SANDBOX_DIR": str(sandbox_dir),
        "RL_ARENA_MATCHMAKING_INTERVAL_S": "2",
        **storage,
    }


# The reaper looks every 5 s (30 s by default): a killed worker's match comes back sooner.
QUICK_RECOVERY = {"RL_ARENA_REAPER_INTERVAL_S": "5"}


def host_address() -> str:
    """This machine's address on Docker's default bridge: the one address both this machine
    and every container reach it at (the S3 server, the identity provider, published ports),
    as another host of a deployment would use a routable address."""
    return subprocess.run(["docker", "network", "inspect", "bridge", "--format",
                           "{{(index .IPAM.Config 0).Gateway}}"], capture_output=True,
                          text=True, check=True).stdout.strip()


def app_overrides(extra_env: dict[str, str]) -> dict[str, Any]:
    """``extra_env`` for every app service."""
    return {name: {"environment": extra_env} for name in APP_SERVICES}


class Api:
    """The stack's REST API as a client on the host sees it."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=f"{base_url}/api/v1", headers=headers, timeout=30)

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def submit(self, env: str, name: str, source: str) -> dict[str, Any]:
        """POST /submissions with agent.py; the created submission."""
        response = self.client.post("/submissions", data={"env": env, "name": name},
                                    files={"file": ("agent.py", source.encode(), "text/x-python")})
        assert response.status_code == 201, response.text
        return response.json()


def managed_containers(owner_hosts: set[str]) -> list[str]:
    """Agent containers (any state) whose owner ran in one of ``owner_hosts`` (hostnames)."""
    out = subprocess.run(["docker", "ps", "--all", "--filter", f"label={MANAGED_LABEL}",
                          "--format", '{{.Names}} {{.Label "' + OWNER_LABEL + '"}}'],
                         capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        name, _, owner = line.partition(" ")
        if owner.partition(":")[0] in owner_hosts:
            found.append(name)
    return found
