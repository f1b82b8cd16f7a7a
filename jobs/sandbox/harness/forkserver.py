"""Fork server: keeps a sandbox warm and forks one fresh agent process per match.

Runs inside the sandbox with the standard library and numpy only (and onnxruntime, for an ONNX
policy); it never imports the agent's code, so every child starts from the same clean
interpreter. Control messages from the referee (JSON lines, protocol.py), handled one at a time:

- ``fork``: clean up, then fork a child that loads the agent and serves it on a new socket pair;
  answers ``{"t": "forked", "pid": ...}`` with the referee's end of the pair attached.
- ``status``: answers ``{"t": "exit", ...}`` once the child has ended (its exit code or signal,
  and whether the memory limit killed it).
- ``end``: kills the child and everything it started, wipes the writable folders (no answer).

What it cannot clean up ends the server, and with it the sandbox: the referee then starts a fresh
one. Usage: python3 -I forkserver.py (--connect PATH | --fd FD) [--agent-dir DIR] [--deps DIR]
[--wipe DIR]... [--kill-all] [--oom-counter FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import importlib.util
import os
import signal
import socket
import stat
import time
import types

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
IPC_RMID = 0
IPC_UID_COLUMN = {"shm": 7, "sem": 4, "msg": 7}  # in /proc/sysvipc/<table>
CLEAN_DEADLINE_S = 5.0
EXIT_WAIT_S = 2.0
# Written to the server's output before each child starts: the referee shows a dead child's
# output from the last mark on.
MATCH_MARK = "--- rl-arena: next agent process ---"
SERVER_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
HERE = os.path.dirname(os.path.abspath(__file__))

_libc = ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, value: int) -> None:
    if _libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option})")


def load_sibling(name: str, filename: str) -> types.ModuleType:
    """Load a module that lies next to this file without putting this folder on sys.path."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, filename))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def processes_of_uid(uid: int) -> list[tuple[int, int]]:
    """(pid, session id) of every other process running as ``uid``, pid 1 excepted."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (me, 1):
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != uid:
                continue
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rpartition(")")[2].split()
        except OSError:  # it ended while we looked
            continue
        found.append((int(entry), int(fields[3])))
    return found


def remove_ipc_objects(uid: int) -> None:
    """Remove the System V shared memory, semaphores and message queues ``uid`` owns."""
    for table, call in (("shm", _libc.shmctl), ("sem", _libc.semctl), ("msg", _libc.msgctl)):
        try:
            with open(f"/proc/sysvipc/{table}", encoding="ascii") as fh:
                rows = [line.split() for line in fh.readlines()[1:]]
        except OSError:
            continue
        for row in rows:
            if len(row) > IPC_UID_COLUMN[table] and row[IPC_UID_COLUMN[table]] == str(uid):
                if table == "sem":
                    call(int(row[1]), 0, IPC_RMID)
                else:
                    call(int(row[1]), IPC_RMID, None)


def wipe(folder: str) -> None:
    """Delete everything under ``folder`` (keeping the folder), whatever modes the agent set."""
    if not os.path.isdir(folder):
        return
    for entry in os.scandir(folder):
        path = entry.path
        if entry.is_dir(follow_symlinks=False):
            os.chmod(path, stat.S_IRWXU)
            wipe(path)
            os.rmdir(path)
        else:
            os.unlink(path)


class Server:
    """Answers the referee's control messages; forks, watches and cleans up after children."""

    def __init__(self, control: socket.socket, harness: types.ModuleType, agent_dir: str,
                 deps: list[str], args: argparse.Namespace) -> None:
        self.sock = control
        self.harness = harness
        self.protocol = harness.load_protocol()
        self.channel = harness.Channel(control, self.protocol)
        self.agent_dir = agent_dir
        self.deps = deps
        self.wipe = [os.path.abspath(w) for w in args.wipe]
        self.kill_all = args.kill_all
        if self.kill_all and os.getuid() == 0:
            raise SystemExit("fork server: --kill-all is for an agent's own uid, never root")
        self.oom_counter = args.oom_counter
        self.child: int | None = None
        self.child_status: int | None = None
        self.oom_before = 0
        self.sessions: set[int] = set()

    def run(self) -> None:
        """Serve control messages until the referee hangs up, then clean up and leave."""
        self.channel.send({"t": "server", "v": self.protocol.PROTOCOL_VERSION,
                           "pid": os.getpid()})
        while True:
            message = self.channel.receive()
            kind = None if message is None else message.get("t")
            if kind == "fork":
                self.clean()
                self.fork()
            elif kind == "status":
                self.channel.send(self.exit_report())
            elif kind == "end":
                self.clean()
            else:  # hung up, or a message no referee sends
                self.clean()
                return

    def others(self) -> list[tuple[int, int]]:
        """The processes a finished match may have left: all of this uid's, or the children's
        sessions when the uid is shared with other programs."""
        found = processes_of_uid(os.getuid())
        if self.kill_all:
            return found
        return [p for p in found if p[1] in self.sessions]

    def reap(self) -> None:
        """Collect every ended child (orphans come here: this process is their subreaper)."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.child:
                self.child_status = status

    def clean(self) -> None:
        """Kill every process the last match started and wipe the writable folders."""
        deadline = time.monotonic() + CLEAN_DEADLINE_S
        while others := self.others():
            if time.monotonic() > deadline:
                raise SystemExit(f"fork server: processes survive SIGKILL: {others}")
            if self.kill_all:
                # Every process of this uid but this one and the namespace's init.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(-1, signal.SIGKILL)
            else:
                for session in self.sessions:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(session, signal.SIGKILL)
            self.reap()
            time.sleep(0.001)
        self.reap()
        self.child = None
        self.sessions.clear()
        if self.kill_all:
            remove_ipc_objects(os.getuid())
        for folder in self.wipe:
            wipe(folder)
            if os.path.isdir(folder) and os.listdir(folder):
                raise SystemExit(f"fork server: could not empty {folder}")

    def oom_kills(self) -> int:
        """How many processes the sandbox's memory limit has killed so far."""
        for counter in self.oom_counter:  # cgroup v1's memory.oom_control, v2's memory.events
            try:
                with open(counter, encoding="ascii") as fh:
                    for line in fh:
                        name, _, value = line.partition(" ")
                        if name == "oom_kill":
                            return int(value)
            except (OSError, ValueError):
                continue
        return 0

    def fork(self) -> None:
        """Start a child on a fresh socket pair and hand the referee its end."""
        referee_end, child_end = socket.socketpair()
        self.oom_before = self.oom_kills()
        self.child_status = None
        print(MATCH_MARK, flush=True)
        pid = os.fork()
        if pid == 0:
            try:
                referee_end.close()
                self.sock.close()
                self.become_agent(child_end)
            finally:
                os._exit(1)
        child_end.close()
        self.child = pid
        self.sessions.add(pid)
        line = self.protocol.encode({"t": "forked", "pid": pid})
        socket.send_fds(self.sock, [line], [referee_end.fileno()])
        referee_end.close()

    def become_agent(self, sock: socket.socket) -> None:
        """In the child: undo the server's settings, then load the agent and serve it."""
        server = os.getppid()
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != server:  # the server died before the tie was made
            os._exit(1)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for number in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, signal.SIG_DFL)
        os.setsid()
        _prctl(PR_SET_DUMPABLE, 1)
        gc.unfreeze()
        self.harness.serve(self.harness.Channel(sock, self.protocol), self.agent_dir,
                           self.harness.SourceNames(self.agent_dir, self.deps))
        os._exit(0)

    def exit_report(self) -> dict:
        """How the child ended, once it has (``running`` if it still runs after a while)."""
        deadline = time.monotonic() + EXIT_WAIT_S
        while self.child is not None and self.child_status is None:
            self.reap()
            if self.child_status is None:
                if time.monotonic() > deadline:
                    return {"t": "exit", "running": True}
                time.sleep(0.005)
        status = self.child_status
        report: dict = {"t": "exit", "oom": self.oom_kills() > self.oom_before}
        if status is not None and os.WIFSIGNALED(status):
            report["signal"] = os.WTERMSIG(status)
        elif status is not None:
            report["code"] = os.waitstatus_to_exitcode(status)
        return report


def shared_imports(harness: types.ModuleType, agent_dir: str, deps: list[str]) -> list[str]:
    """The modules the server imports once for all its children: numpy, and onnxruntime for a
    policy.onnx (the harness's entry for it); none the agent brings its own of, which must win."""
    names = ["numpy"]
    if os.path.basename(harness.entry_file(agent_dir)) == harness.POLICY_FILE:
        # Starts no thread when imported (a fork would lose it); sessions are the children's.
        names.append("onnxruntime")
    return [name for name in names
            if not any(os.path.exists(os.path.join(d, name)) for d in [agent_dir, *deps])]


def main() -> None:
    """Lock the server down, import what every child shares, connect and serve."""
    harness = load_sibling("rl_arena_harness", "harness.py")
    parser = harness.argument_parser()
    parser.add_argument("--wipe", action="append", default=[])
    parser.add_argument("--kill-all", action="store_true")
    parser.add_argument("--oom-counter", action="append", default=[])
    args = parser.parse_args()
    for number in SERVER_SIGNALS:  # the agent shares our uid: only SIGKILL ends the server
        signal.signal(number, signal.SIG_IGN)
    _prctl(PR_SET_DUMPABLE, 0)  # no ptrace, no /proc/<pid>/mem or fd for the agent
    _prctl(PR_SET_CHILD_SUBREAPER, 1)  # double-forked daemons stay within reach
    agent_dir, deps = harness.agent_paths(args)
    for name in shared_imports(harness, agent_dir, deps):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    harness.put_agent_first(agent_dir, deps)
    control = harness.connect(args)
    gc.freeze()  # children share the server's objects without copying their pages
    Server(control, harness, agent_dir, deps, args).run()


if __name__ == "__main__":
    main()
