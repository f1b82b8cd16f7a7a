"""Development sandbox without Docker: the harness as a local process under rlimits and its own uid.

Much weaker than the Docker sandbox (see docs/SANDBOXES.md), so it is refused in production mode.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import logging
import os
import resource
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import IO, Any

from jobs.sandbox.harness import harness_files
from rl_arena_app.arena.bundle import AgentBundle
from rl_arena_app.arena.outcomes import AgentFault, Reason
from rl_arena_app.errors import BadAgent, BadInput, InfrastructureError
from rl_arena_app.services import metrics
from rl_arena_app.settings import Settings, get_settings

from .base import SocketSandbox
from .harness.forkserver import MATCH_MARK
from .warm import WarmHost, signal_name

log = logging.getLogger(__name__)

DIR_PREFIX = "rl-arena-proc-"
OUTPUT_LOG = "output.log"
TAIL_CHARS = 1500
CHILD_PATH = "/usr/bin:/bin"
# Unprivileged uids for agents when running as root: 64 per referee process, from a high range.
UID_BASE = 200_000
UIDS_PER_PROCESS = 64
OPEN_FILES = 256
CPU_SECONDS = 3600  # SIGXCPU after an hour of CPU time, SIGKILL a little later
KILL_DEADLINE_S = 10.0
POST_MORTEM_WAIT_S = 2.0

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
PR_SET_NO_NEW_PRIVS = 38

_libc = ctypes.CDLL(None, use_errno=True)
# Resolve the symbols now: the child must not go through the dynamic loader between fork and exec.
_unshare = _libc.unshare
_unshare.argtypes = [ctypes.c_int]
_mount = _libc.mount
_mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                   ctypes.c_char_p]
_prctl = _libc.prctl
_prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

_uid_lock = threading.Lock()
_uid_counter = itertools.count()
_held_uids: set[int] = set()
_warned_not_root = False

# (blocked directory, entries to keep visible) pairs, outermost first.
MountPlan = list[tuple[str, tuple[str, ...]]]


def _read_status(pid: str) -> tuple[set[int], bool] | None:
    """The uids (real, effective, saved, fs) of a process and whether it is a zombie."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            text = fh.read()
    except OSError:  # the process went away while we looked
        return None
    uids: set[int] = set()
    zombie = False
    for line in text.splitlines():
        if line.startswith("State:"):
            zombie = line.split()[1] in {"Z", "X"}
        elif line.startswith("Uid:"):
            uids = {int(field) for field in line.split()[1:]}
    return uids, zombie


def processes_of(uid: int, *, zombies: bool = False) -> list[int]:
    """Pids of the processes running as `uid` (dead but unreaped ones only when asked)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        status = _read_status(entry)
        if status is not None and uid in status[0] and (zombies or not status[1]):
            found.append(int(entry))
    return found


def _uids_in_use() -> set[int]:
    """Every uid some process (zombies included: they count against RLIMIT_NPROC) runs as."""
    used: set[int] = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (status := _read_status(entry)) is not None:
            used |= status[0]
    return used


def _allocate_uid() -> int:
    """A uid no other agent and no process currently uses."""
    base = UID_BASE + (os.getpid() % 1000) * UIDS_PER_PROCESS
    with _uid_lock:
        busy = _uids_in_use() | _held_uids
        for _ in range(UIDS_PER_PROCESS):
            uid = base + next(_uid_counter) % UIDS_PER_PROCESS
            if uid not in busy:
                _held_uids.add(uid)
                return uid
    raise InfrastructureError(f"no free agent uid in {base}..{base + UIDS_PER_PROCESS - 1}: "
                              "too many process sandboxes at once, or leftover agent processes")


def _release_uid(uid: int) -> None:
    with _uid_lock:
        _held_uids.discard(uid)


def _mount_plan(paths: Iterable[str], uid: int) -> MountPlan:
    """Directories on the way to the interpreter that `uid` cannot search, e.g. a 0700 /root."""
    plan: dict[str, set[str]] = {}
    for path in paths:
        parts = Path(os.path.realpath(path)).parts
        for depth in range(1, len(parts)):
            directory = str(Path(*parts[:depth]))
            st = os.stat(directory)
            searchable = st.st_mode & (stat.S_IXUSR if st.st_uid == uid else stat.S_IXOTH)
            if not searchable:
                plan.setdefault(directory, set()).add(parts[depth])
    return [(d, tuple(sorted(plan[d]))) for d in sorted(plan, key=lambda d: d.count("/"))]


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _open_holes(plan: MountPlan) -> None:
    """In a private mount namespace, cover each blocked directory with a searchable tmpfs that
    shows only the entries the interpreter needs (bind-mounted back). Runs in the child."""
    _check(_unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(_mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "making / private")
    for directory, entries in plan:
        fds = [os.open(os.path.join(directory, e), os.O_PATH | os.O_NOFOLLOW) for e in entries]
        _check(_mount(b"tmpfs", directory.encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                      b"mode=0755,size=64k"), f"covering {directory}")
        for entry, fd in zip(entries, fds, strict=True):
            target = os.path.join(directory, entry)
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                os.mkdir(target, 0o755)
            else:
                os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
            _check(_mount(f"/proc/self/fd/{fd}".encode(), target.encode(), None,
                          MS_BIND | MS_REC, None), f"showing {target}")
            os.close(fd)


def _child_setup(
    limits: list[tuple[int, tuple[int, int]]], uid: int | None, plan: MountPlan
) -> Callable[[], None]:
    """The preexec_fn: namespaces and uid switch when root, then rlimits, then no new privileges.

    It runs between fork and exec, so everything it needs is computed beforehand.
    """

    def setup() -> None:
        if uid is not None:
            _unshare(CLONE_NEWNET)  # no network where the kernel allows; failure is tolerated
            if plan:
                _open_holes(plan)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        # After the uid switch: lowering limits needs no privilege, and files opened above did
        # not have to fit under the open-files limit.
        for which, value in limits:
            resource.setrlimit(which, value)
        _check(_prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")

    return setup


def _chown_tree(root: Path, uid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        os.lchown(dirpath, uid, uid)
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, uid)


def _share_read_only(root: Path, uid: int) -> None:
    """Let ``uid``'s group (and no one else) read ``root`` but not change it: root keeps it."""
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chown(dirpath, 0, uid)
        os.chmod(dirpath, 0o750)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chown(path, 0, uid)
                os.chmod(path, 0o640)


def _write_files(folder: Path, files: Iterable[tuple[str, bytes]]) -> None:
    for rel, data in files:
        parts = PurePosixPath(rel).parts
        if not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
            raise BadAgent(f"agent file path {rel!r} is not a plain relative path")
        path = folder.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _remove_tree(path: Path) -> None:
    """Delete a folder even if the agent removed permissions inside it."""

    def retry(function: Callable[..., object], failed: str, _exc: object) -> None:
        os.chmod(os.path.dirname(failed), 0o700)
        if os.path.isdir(failed) and not os.path.islink(failed):
            os.chmod(failed, 0o700)
            shutil.rmtree(failed)
        else:
            function(failed)

    if not path.exists():
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:
        shutil.rmtree(path, onerror=retry)


class AgentProcess:
    """An agent's private folder and its harness (or fork server) as a process under rlimits;
    as root also under its own uid and without network."""

    def __init__(self, bundle: AgentBundle, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        if self.settings.production:
            raise BadInput("the process sandbox is refused in production mode "
                           "(RL_ARENA_ENV=production): use --sandbox docker")
        self.bundle = bundle
        self.directory: Path | None = None
        self.uid: int | None = None
        self.network_isolated: bool | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, *, server: bool = False) -> socket.socket:
        """Write the private folder, start the harness (the fork server if ``server``) in it and
        return the referee's end of its socket.

        A fork server's agent processes may write only their tmp folder (wiped between them);
        a one-off harness owns its whole folder, as it always has.
        """
        root = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
        self.directory = root
        agent_dir, harness_dir, deps_dir, tmp_dir = (root / n for n in
                                                     ("agent", "harness", "deps", "tmp"))
        for folder in (agent_dir, harness_dir, deps_dir, tmp_dir):
            folder.mkdir(mode=0o700)
        _write_files(agent_dir, self.bundle.files.items())
        _write_files(harness_dir, harness_files().items())
        self._install_requirements(deps_dir)
        self._log = open(root / OUTPUT_LOG, "w+b")  # noqa: SIM115 - kept open until destroy
        as_root = os.geteuid() == 0
        plan: MountPlan = []
        if as_root:
            self.uid = _allocate_uid()
            if server:
                _share_read_only(root, self.uid)
                _chown_tree(tmp_dir, self.uid)
                os.chmod(root / OUTPUT_LOG, 0o600)
            else:
                _chown_tree(root, self.uid)
            plan = _mount_plan([sys.executable, sys.prefix, sys.exec_prefix, sys.base_prefix,
                                sys.base_exec_prefix, str(root)], self.uid)
        else:
            _warn_not_root()
        parent_end, child_end = socket.socketpair()
        script = "forkserver.py" if server else "harness.py"
        command = [sys.executable, "-I", "-B", str(harness_dir / script),
                   "--fd", str(child_end.fileno()), "--agent-dir", str(agent_dir),
                   "--deps", str(deps_dir)]
        if server:
            command += ["--wipe", str(tmp_dir)] + (["--kill-all"] if as_root else [])
        env = {"HOME": str(tmp_dir), "TMPDIR": str(tmp_dir), "PATH": CHILD_PATH,
               "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1", "ORT_DISABLE_TELEMETRY": "1"}
        try:
            self._proc = subprocess.Popen(
                command, cwd=agent_dir, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
                stderr=subprocess.STDOUT, pass_fds=(child_end.fileno(),), start_new_session=True,
                preexec_fn=_child_setup(self._rlimits(as_root, server), self.uid, plan))
        except (OSError, subprocess.SubprocessError) as exc:
            parent_end.close()
            hint = (f" (the interpreter lies under {plan[0][0]}, which the agent uid cannot "
                    "search: check that this process may create a mount namespace)"
                    if plan else "")
            raise InfrastructureError(f"could not start the agent process: {exc}{hint}") from None
        finally:
            child_end.close()
        metrics.count("rl_arena_sandbox_starts_total", kind="process", warm="false")
        if as_root:
            self.network_isolated = self._own_network_namespace()
            if self.network_isolated is False:
                log.warning("process sandbox: the kernel refused a network namespace; "
                            "agent %s has network access", self.bundle.ref)
        return parent_end

    def _install_requirements(self, deps_dir: Path) -> None:
        requirements = self.bundle.requirements
        if requirements and requirements.strip():
            from jobs.images.wheels import WheelCache

            python = f"{sys.version_info.major}.{sys.version_info.minor}"
            with WheelCache.of(self.settings).installed(requirements, python,
                                                        reuse_resolution=True) as site:
                if site is not None:
                    shutil.copytree(site, deps_dir, dirs_exist_ok=True)

    def _rlimits(self, as_root: bool, server: bool) -> list[tuple[int, tuple[int, int]]]:
        """Resource limits for the agent; NPROC counts every process of the uid."""
        memory = self.settings.agent_memory_mb << 20
        pids = self.settings.agent_pids + (1 if server else 0)
        if not as_root:  # the agent shares the uid (and so the count) with the user's processes
            pids += len(processes_of(os.getuid(), zombies=True))
        file_size = self.settings.agent_tmp_mb << 20
        return [(resource.RLIMIT_AS, (memory, memory)),
                (resource.RLIMIT_NPROC, (pids, pids)),
                (resource.RLIMIT_FSIZE, (file_size, file_size)),
                (resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES)),
                (resource.RLIMIT_CORE, (0, 0)),
                (resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 10))]

    def _own_network_namespace(self) -> bool | None:
        """Whether the agent process got a network namespace of its own (None: it is gone)."""
        assert self._proc is not None
        try:
            return os.readlink(f"/proc/{self._proc.pid}/ns/net") != os.readlink(
                "/proc/self/ns/net")
        except OSError:
            return None

    def output_tail(self, *, since_mark: bool = False) -> str:
        """The end of what the process wrote to stdout/stderr (read through our own handle, so
        an agent that swaps the file for a symlink cannot make us read anything else); with
        ``since_mark``, only what came after the fork server's last mark."""
        if self._log is None:
            return ""
        size = os.fstat(self._log.fileno()).st_size
        data = os.pread(self._log.fileno(), 4 * TAIL_CHARS, max(size - 4 * TAIL_CHARS, 0))
        text = data.decode(errors="replace")
        if since_mark:
            text = text.rpartition(MATCH_MARK)[2]
        return text.strip()[-TAIL_CHARS:]

    def exit_fault(self, code: int, tail: str) -> AgentFault:
        """The forfeit of an agent process that ended with ``code`` (negative: a signal)."""
        if code < 0:
            name = signal_name(-code)
            if -code == signal.SIGXCPU:
                return AgentFault(Reason.RESOURCE_LIMIT,
                                  f"killed by {name}: used {CPU_SECONDS}s of CPU time", died=True)
            if -code == signal.SIGXFSZ:
                return AgentFault(Reason.RESOURCE_LIMIT, f"killed by {name}: wrote a file over "
                                  f"{self.settings.agent_tmp_mb} MB", died=True)
            detail = f"agent process killed by {name}"
        else:
            detail = f"agent process exited with code {code}"
        if "MemoryError" in tail:
            return AgentFault(Reason.RESOURCE_LIMIT, f"ran out of memory "
                              f"({self.settings.agent_memory_mb} MB of address space): {tail}",
                              died=True)
        return AgentFault(Reason.CRASH, f"{detail}: {tail}" if tail else detail, died=True)

    def post_mortem(self, *, since_mark: bool = False) -> AgentFault:
        """Why the harness (or fork server) process went away."""
        assert self._proc is not None
        try:
            code = self._proc.wait(timeout=POST_MORTEM_WAIT_S)
        except subprocess.TimeoutExpired:
            return AgentFault(Reason.PROTOCOL_ERROR, "agent closed the referee channel")
        return self.exit_fault(code, self.output_tail(since_mark=since_mark))

    def destroy(self) -> None:
        """Kill every process of the agent, free its uid and delete its folder."""
        if self._proc is not None:
            if self.uid is not None:
                _kill_uid(self.uid)
            else:
                _kill_group(self._proc.pid)
            self._proc.kill()  # no-op once reaped
            self._proc.wait()
            self._proc = None
        if self.uid is not None:
            _release_uid(self.uid)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.directory is not None:
            _remove_tree(self.directory)


class ProcessSandbox(SocketSandbox):
    """One agent as a one-off local process (see AgentProcess)."""

    image = None

    def __init__(self, bundle: AgentBundle, settings: Settings | None = None) -> None:
        super().__init__()
        self.process = AgentProcess(bundle, settings)
        self._sock: socket.socket | None = None

    @property
    def directory(self) -> Path | None:
        """The agent's private folder."""
        return self.process.directory

    @property
    def uid(self) -> int | None:
        """The agent's own uid (None when not running as root)."""
        return self.process.uid

    @property
    def network_isolated(self) -> bool | None:
        """Whether the agent runs without network (None: unknown)."""
        return self.process.network_isolated

    def launch(self) -> None:
        """Write the agent's private folder, then start the harness in it."""
        self._sock = self.process.start()

    def _connect(self, deadline: float) -> socket.socket:
        assert self._sock is not None, "launch() first"
        sock, self._sock = self._sock, None
        return sock

    def _post_mortem(self) -> AgentFault:
        return self.process.post_mortem()

    def _destroy(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.process.destroy()


class ProcessHost(WarmHost):
    """A warm process sandbox: the agent's folder with its fork server running."""

    def __init__(self, bundle: AgentBundle, settings: Settings | None = None) -> None:
        super().__init__(process_key(bundle))
        self.process = AgentProcess(bundle, settings)
        self._sock: socket.socket | None = None

    def start(self) -> None:
        """Write the folder and start the fork server."""
        self._sock = self.process.start(server=True)

    def _accept(self, deadline: float) -> socket.socket:
        assert self._sock is not None, "start() first"
        sock, self._sock = self._sock, None
        return sock

    def post_mortem(self) -> AgentFault:
        """Why the fork server went away."""
        return self.process.post_mortem(since_mark=True)

    def child_fault(self, report: dict[str, Any]) -> AgentFault:
        """The fault of an agent process that ended."""
        if report.get("running"):
            return AgentFault(Reason.PROTOCOL_ERROR, "agent closed the referee channel")
        code = -int(report["signal"]) if "signal" in report else int(report.get("code") or 0)
        return self.process.exit_fault(code, self.process.output_tail(since_mark=True))

    def destroy(self) -> None:
        """Kill the server and every agent process, delete the folder."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.process.destroy()


def process_key(bundle: AgentBundle) -> str:
    """What makes two process sandboxes interchangeable: the agent's files (requirements
    included) and this interpreter."""
    return f"{bundle.digest}:{sys.executable}"


def _warn_not_root() -> None:
    global _warned_not_root
    if not _warned_not_root:
        _warned_not_root = True
        log.warning("process sandbox: not running as root, so agents run as your own user: they "
                    "can read and change your files and use the network")


def _kill_uid(uid: int) -> None:
    """SIGKILL every process of `uid` until none is left, fork bombs and setsid escapes included."""
    if uid < UID_BASE:  # kill(-1) as root or as a real user would take the host down with it
        raise ValueError(f"refusing to kill every process of uid {uid}")
    kill = shutil.which("kill", path=CHILD_PATH)
    deadline = time.monotonic() + KILL_DEADLINE_S
    while pids := processes_of(uid):
        if time.monotonic() > deadline:
            log.error("process sandbox: processes of uid %d survive SIGKILL: %s", uid, pids)
            return
        if kill is not None:
            # kill(-1) sent as the agent's uid reaches all its processes in one pass, so a
            # process forked meanwhile cannot slip through.
            subprocess.run([kill, "-9", "-1"], user=uid, group=uid, extra_groups=[], env={},
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
        for pid in pids:
            _kill_pid(pid, uid)
        time.sleep(0.01)


def _kill_pid(pid: int, uid: int) -> None:
    """SIGKILL `pid` if it still runs as `uid` (through a pidfd, so a reused pid is safe)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        status = _read_status(str(pid))
        if status is not None and uid in status[0]:
            with contextlib.suppress(ProcessLookupError):  # it exited since
                signal.pidfd_send_signal(fd, signal.SIGKILL)
    finally:
        os.close(fd)


def _kill_group(pgid: int) -> None:
    """SIGKILL the agent's session in one go (processes that called setsid are out of reach)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
