"""The real sandbox: one locked-down container per agent, talking over a private unix socket."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import docker
import docker.errors
from docker.models.containers import Container
from docker.types import LogConfig, Ulimit

from rl_arena_app.arena.outcomes import AgentFault, Reason
from rl_arena_app.errors import InfrastructureError
from rl_arena_app.processes import pid_alive
from rl_arena_app.services import metrics
from rl_arena_app.settings import Settings, get_settings

from .base import SocketSandbox
from .channel import ChannelClosed
from .harness.forkserver import MATCH_MARK
from .warm import WarmHost, signal_name

MANAGED_LABEL = "rl-arena.managed"
OWNER_LABEL = "rl-arena.owner"
AGENT_UID = 65534  # "nobody" in the base image
SOCKET_NAME = "agent.sock"
CONTAINER_SOCKET_DIR = "/run/arena"
ENGINE_HINT = "Docker engine not reachable: start dockerd or use --sandbox process"
FORK_SERVER_ENTRYPOINT = ["python3", "-I", "-B", "/opt/rl-arena/forkserver.py", "--connect",
                          f"{CONTAINER_SOCKET_DIR}/{SOCKET_NAME}", "--agent-dir", "/agent",
                          "--deps", "/agent-deps", "--wipe", "/tmp", "--wipe", "/dev/mqueue",
                          "--kill-all", "--oom-counter", "/sys/fs/cgroup/memory/memory.oom_control",
                          "--oom-counter", "/sys/fs/cgroup/memory.events"]
# Memory a fork server holds beyond what it shares with its agent process.
SERVER_MEMORY_MB = 32
# A live owner removes its container seconds after it ends: one ended longer ago than this was
# left by a process that died, on whatever host or in whatever container it ran.
ENDED_ORPHAN_S = 60.0
# A container created and never started is an image build's (its files go in before a commit,
# which a large set of wheels can make slow) or a start that died: it gets longer.
UNSTARTED_ORPHAN_S = 900.0


@dataclass(frozen=True)
class ContainerLimits:
    """Resource caps applied to every agent container."""

    memory_mb: int = 512
    cpus: float = 1.0
    pids: int = 64
    tmp_mb: int = 64
    open_files: int = 256

    @classmethod
    def from_settings(cls, settings: Settings) -> ContainerLimits:
        """Limits configured through RL_ARENA_AGENT_* settings."""
        return cls(settings.agent_memory_mb, settings.agent_cpus, settings.agent_pids,
                   settings.agent_tmp_mb)


def owner_tag() -> str:
    """Identifies this process on this host, so orphans of dead processes can be found."""
    return f"{socket.gethostname()}:{os.getpid()}"


class ManagedContainer(NamedTuple):
    """A platform container as listed by the engine."""

    id: str
    name: str
    labels: dict[str, str]
    state: str = ""  # running, exited, created...


def _engine_time(stamp: str) -> float | None:
    """An engine timestamp (RFC 3339, nanoseconds) as epoch seconds; None for its zero time."""
    head, _, rest = stamp.partition(".")
    try:
        when = datetime.fromisoformat(head + ("Z" if rest else "")) if head else None
    except ValueError:
        return None
    return None if when is None or when.year < 2000 else when.timestamp()


def _remove_container(container: Container) -> None:
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if exc.status_code != 409:  # 409: a removal is already under way
            raise


class ContainerRemover:
    """Removes containers in the background, process-wide.

    Removing a container takes ~50 ms; doing it off the referee's path lets a result be recorded
    (and the next match start) sooner. The executor's threads finish pending removals before the
    interpreter exits, Ctrl-C included; a killed process leaves orphans for the next sweep.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="rl-arena-remove")
        self._pending: set[Future] = set()
        self._lock = threading.Lock()

    def submit(self, container: Container) -> None:
        """Kill and remove a container soon (now, when the interpreter is shutting down)."""
        try:
            future = self._pool.submit(_remove_container, container)
        except RuntimeError:  # at exit, after the executor stopped: warm sandboxes close then
            _remove_container(container)
            return
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def drain(self) -> None:
        """Wait for every submitted removal; re-raise the first failure."""
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            future.result()


_REMOVER = ContainerRemover()
_ENGINES: dict[tuple[int, int], DockerEngine] = {}
_ENGINES_LOCK = threading.Lock()


class DockerEngine:
    """A connection to the Docker engine, shared by every sandbox of this process."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        try:
            self.client = docker.from_env(timeout=60)
            self.client.ping()
        except docker.errors.DockerException as exc:
            raise InfrastructureError(f"{ENGINE_HINT} ({exc})") from None
        self.limits = ContainerLimits.from_settings(self.settings)
        self.socket_root = self.settings.sandbox_dir
        self.socket_root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.socket_root, 0o711)
        self.swept = self.sweep_orphans()  # the orphans this start removed

    @classmethod
    def shared(cls, settings: Settings) -> DockerEngine:
        """This process's engine for ``settings`` (a forked child makes its own)."""
        key = (os.getpid(), id(settings))
        with _ENGINES_LOCK:
            found = _ENGINES.get(key)
            if found is None or found.settings is not settings:
                found = _ENGINES[key] = cls(settings)
            return found

    @staticmethod
    def drain() -> None:
        """Wait until every container this process closed is removed."""
        _REMOVER.drain()

    def sweep_orphans(self) -> list[str]:
        """Remove containers and socket folders left behind by dead processes: on this host,
        those of dead pids; on this engine, any that ended more than ENDED_ORPHAN_S ago (their
        owner ran in another container, e.g. a compose worker killed mid-match)."""
        removed = []
        host = socket.gethostname()
        for container in self.managed_containers():
            owner_host, _, pid = container.labels.get(OWNER_LABEL, ":").partition(":")
            dead_owner = owner_host == host and pid.isdigit() and not pid_alive(int(pid))
            if dead_owner or self._ended_long_ago(container):
                # Another process may be removing it right now: gone or going is fine.
                with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                    self.client.api.remove_container(container.id, force=True)
                removed.append(container.name)
        for folder in self.socket_root.glob("*-*"):
            pid = folder.name.split("-", 1)[0]
            if pid.isdigit() and not pid_alive(int(pid)):
                shutil.rmtree(folder, ignore_errors=True)
        return removed

    def _ended_long_ago(self, container: ManagedContainer) -> bool:
        """Whether the container stopped more than ENDED_ORPHAN_S ago (or was created and never
        started more than UNSTARTED_ORPHAN_S ago)."""
        if container.state in ("running", "restarting", "paused"):
            return False
        try:
            details = self.client.api.inspect_container(container.id)
        except (docker.errors.NotFound, docker.errors.APIError):
            return False
        ended = _engine_time(details["State"].get("FinishedAt", ""))
        if ended is not None:
            return time.time() - ended > ENDED_ORPHAN_S
        created = _engine_time(details.get("Created", ""))
        return created is not None and time.time() - created > UNSTARTED_ORPHAN_S

    def managed_containers(self, owner: str | None = None) -> list[ManagedContainer]:
        """Containers this platform started (optionally only this process's).

        One listing call (no per-container inspect), so containers removed concurrently by
        another thread or worker cannot make it fail.
        """
        label = [MANAGED_LABEL] + ([f"{OWNER_LABEL}={owner}"] if owner else [])
        return [ManagedContainer(c["Id"], (c.get("Names") or ["?"])[0].lstrip("/"),
                                 c.get("Labels") or {}, c.get("State", ""))
                for c in self.client.api.containers(all=True, filters={"label": label})]


class AgentContainer:
    """One locked-down container and the private socket its harness or fork server dials."""

    def __init__(self, engine: DockerEngine, image: str) -> None:
        self.engine = engine
        self.image = image
        self.container: Container | None = None
        self._dir: Path | None = None
        self._listener: socket.socket | None = None

    def _run_kwargs(self, socket_dir: Path, server: bool) -> dict:
        limits = self.engine.limits
        # A fork server is one more process beside the agent's, sharing most of its pages.
        extra_pids, extra_mb = (1, SERVER_MEMORY_MB) if server else (0, 0)
        return {
            "network_mode": "none",
            "read_only": True,
            "tmpfs": {"/tmp": f"rw,nosuid,nodev,size={limits.tmp_mb}m,mode=1777"},
            "user": f"{AGENT_UID}:{AGENT_UID}",
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "mem_limit": f"{limits.memory_mb + extra_mb}m",
            "memswap_limit": f"{limits.memory_mb + extra_mb}m",
            "nano_cpus": int(limits.cpus * 1e9),
            "pids_limit": limits.pids + extra_pids,
            "ipc_mode": "none",
            "init": True,
            "hostname": "agent",
            "ulimits": [Ulimit(name="nofile", soft=limits.open_files, hard=limits.open_files),
                        Ulimit(name="core", soft=0, hard=0)],
            "log_config": LogConfig(type=LogConfig.types.JSON,
                                    config={"max-size": "256k", "max-file": "1"}),
            "volumes": {str(socket_dir): {"bind": CONTAINER_SOCKET_DIR, "mode": "ro"}},
            "labels": {MANAGED_LABEL: "true", OWNER_LABEL: owner_tag()},
        }

    def start(self, *, server: bool = False) -> None:
        """Create the private socket, then start the container (its fork server if ``server``)."""
        self._dir = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-",
                                          dir=self.engine.socket_root))
        os.chmod(self._dir, 0o755)
        path = self._dir / SOCKET_NAME
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(path))
        if os.geteuid() == 0:
            os.chown(path, AGENT_UID, AGENT_UID)
            os.chmod(path, 0o600)
        else:
            os.chmod(path, 0o666)
        self._listener.listen(1)
        kwargs = self._run_kwargs(self._dir, server)
        if server:
            kwargs["entrypoint"] = FORK_SERVER_ENTRYPOINT
        try:
            # create + start, not run(): run() would try to pull a missing image from a registry.
            self.container = self.engine.client.containers.create(self.image, **kwargs)
            self.container.start()
        except docker.errors.ImageNotFound:
            raise InfrastructureError(f"agent image {self.image} is missing: rebuild it") from None
        except docker.errors.DockerException as exc:
            raise InfrastructureError(f"could not start the agent container: {exc}") from None
        metrics.count("rl_arena_sandbox_starts_total", kind="docker", warm="false")

    def accept(self, deadline: float) -> socket.socket:
        """The harness's connection; the socket file is closed to anyone after it."""
        assert self._listener is not None
        next_check = time.monotonic() + 0.25
        while True:
            now = time.monotonic()
            wait = max(min(deadline, next_check) - now, 0.0)
            ready, _, _ = select.select([self._listener], [], [], wait)
            if ready:
                conn, _ = self._listener.accept()
                self._listener.close()
                self._listener = None
                return conn
            if time.monotonic() >= deadline:
                raise TimeoutError
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + 0.25
                if self._exited():
                    raise ChannelClosed("container exited before connecting")

    def _exited(self) -> bool:
        try:
            self.container.reload()
        except docker.errors.NotFound:
            return True
        return self.container.status in {"exited", "dead"}

    def logs(self, lines: int = 15) -> str:
        """The last lines the container wrote ("" when it cannot be read)."""
        try:
            return self.container.logs(tail=lines).decode(errors="replace").strip()
        except docker.errors.DockerException:
            return ""

    def post_mortem(self) -> AgentFault:
        """Why the container's harness went away (memory limit, exit code, output tail)."""
        with contextlib.suppress(docker.errors.DockerException, OSError):
            self.container.wait(timeout=3)
        try:
            self.container.reload()
            state = self.container.attrs["State"]
            logs = self.container.logs(tail=15).decode(errors="replace").strip()
        except docker.errors.DockerException as exc:
            return AgentFault(Reason.CRASH, f"agent container vanished ({exc})", died=True)
        if state.get("OOMKilled"):
            return self.memory_fault()
        if state.get("Running"):
            return AgentFault(Reason.PROTOCOL_ERROR, "agent closed the referee channel")
        code = state.get("ExitCode")
        detail = f"agent container exited with code {code}"
        if code == 137:
            detail += " (killed)"
        return AgentFault(Reason.CRASH, f"{detail}: {logs[-1500:]}" if logs else detail,
                          died=True)

    def memory_fault(self) -> AgentFault:
        """The forfeit of an agent the memory limit killed."""
        return AgentFault(Reason.RESOURCE_LIMIT, f"killed by the memory limit "
                          f"({self.engine.limits.memory_mb} MB)", died=True)

    def destroy(self) -> None:
        """Remove the container (in the background) and its socket folder."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self.container is not None:
            _REMOVER.submit(self.container)
            self.container = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


class DockerSandbox(SocketSandbox):
    """One agent in one container: no network, read-only root, capped memory, CPU, pids, writes."""

    def __init__(self, engine: DockerEngine, image: str) -> None:
        super().__init__()
        self.image = image
        self.box = AgentContainer(engine, image)

    def launch(self) -> None:
        """Create the private socket, then start the container."""
        self.box.start()

    def _connect(self, deadline: float) -> socket.socket:
        return self.box.accept(deadline)

    def _post_mortem(self) -> AgentFault:
        return self.box.post_mortem()

    def _destroy(self) -> None:
        self.box.destroy()


class DockerHost(WarmHost):
    """A warm container: the agent's image running its fork server."""

    def __init__(self, engine: DockerEngine, image: str) -> None:
        super().__init__(image)
        self.box = AgentContainer(engine, image)

    def start(self) -> None:
        """Start the container with its fork server."""
        self.box.start(server=True)

    def _accept(self, deadline: float) -> socket.socket:
        return self.box.accept(deadline)

    def post_mortem(self) -> AgentFault:
        """Why the container went away."""
        return self.box.post_mortem()

    def child_fault(self, report: dict[str, Any]) -> AgentFault:
        """The fault of an agent process that ended inside the container."""
        if report.get("oom"):
            return self.box.memory_fault()
        if report.get("running"):
            return AgentFault(Reason.PROTOCOL_ERROR, "agent closed the referee channel")
        output = self.box.logs(lines=30).rpartition(MATCH_MARK)[2].strip()
        return exit_fault(report, output)

    def destroy(self) -> None:
        """Remove the container."""
        self.box.destroy()


def exit_fault(report: dict[str, Any], output: str) -> AgentFault:
    """The crash of an agent process, as its fork server reported its end."""
    if "signal" in report:
        detail = f"agent process killed by {signal_name(int(report['signal']))}"
    else:
        detail = f"agent process exited with code {report.get('code')}"
    return AgentFault(Reason.CRASH, f"{detail}: {output[-1500:]}" if output else detail,
                      died=True)
