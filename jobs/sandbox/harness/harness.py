"""Agent harness: runs inside the sandbox, loads the submitter's agent and answers the referee.

The agent is agent.py, else main.py (a Kaggle archive's entry), else policy.onnx (run by
`onnx_runner.py` with onnxruntime). Standard library and numpy only otherwise; `protocol.py`,
`kaggle.py`, `onnx_policy.py` and `onnx_runner.py` sit next to this file in the sandbox.
Usage: python3 -I harness.py (--connect SOCKET_PATH | --fd FD) [--agent-dir DIR] [--deps DIR]
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import io
import os
import random
import re
import socket
import sys
import traceback
import types

DETAIL_CHARS = 1500
OUTPUT_TAIL_CHARS = 2000
HARNESS_FILE = os.path.abspath(__file__)
HARNESS_DIR = os.path.dirname(HARNESS_FILE)
POLICY_FILE = "policy.onnx"
POLICY_MODULE = "rl_arena_onnx_policy"
# The first one the agent has is its entry.
ENTRY_FILES = ("agent.py", "main.py", POLICY_FILE)


def load_sibling(name: str, filename: str) -> types.ModuleType:
    """Load a module that lies next to this file without putting this folder on sys.path."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(HARNESS_DIR, filename))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


kaggle = load_sibling("rl_arena_kaggle", "kaggle.py")


class TailWriter(io.TextIOBase):
    """A text stream that keeps only the last characters written (agent prints go here)."""

    def __init__(self, limit: int = OUTPUT_TAIL_CHARS) -> None:
        self.limit = limit
        self.text = ""

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self.text = (self.text + s)[-self.limit :]
        return len(s)


class Channel:
    """Blocking JSON-lines channel to the referee over a stream socket."""

    def __init__(self, sock: socket.socket, protocol: types.ModuleType) -> None:
        self.sock = sock
        self.protocol = protocol
        self.buffer = b""

    def send(self, message: dict) -> None:
        self.sock.sendall(self.protocol.encode(message))

    def receive(self) -> dict | None:
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return self.protocol.decode(line)


def failure_kind(exc: BaseException) -> str:
    """Map an exception raised by agent code to a forfeit reason."""
    if isinstance(exc, MemoryError):
        return "resource_limit"
    # EAGAIN: fork/thread refused by the process limit; EFBIG/ENOSPC: the write cap is reached.
    if isinstance(exc, OSError) and exc.errno in (errno.EAGAIN, errno.EFBIG, errno.ENOSPC):
        return "resource_limit"
    return "crash"


class SourceNames:
    """Names source files as a submitter knows them, never by where they lie on the host: the
    agent's relative to its folder (`utils/helpers.py`), libraries by their package-relative path
    (`<site-packages>/numpy/core/fromnumeric.py`, `<stdlib>/json/decoder.py`)."""

    def __init__(self, agent_dir: str, deps: list[str]) -> None:
        labels = {}
        for path in filter(None, sys.path):
            packages = path in deps or os.path.basename(path) in ("site-packages", "dist-packages")
            labels[os.path.abspath(path)] = "<site-packages>/" if packages else "<stdlib>/"
        labels[HARNESS_DIR] = "<harness>/"
        labels[agent_dir] = ""
        self._labels = labels
        # Longest first, so site-packages wins over the lib folder that holds it.
        roots = sorted(labels, key=len, reverse=True)
        self._pattern = re.compile("(" + "|".join(map(re.escape, roots)) + ")/")

    def __call__(self, filename: str) -> str:
        """The name to show for a source file."""
        found = self._pattern.match(filename)  # `<frozen ...>`, `<string>`: kept as they are
        return filename if found is None else self._labels[found[1]] + filename[found.end():]


def _in_harness(filename: str) -> bool:
    """Whether a source file is one of the harness's own (harness, Kaggle adapter, protocol)."""
    return os.path.dirname(os.path.abspath(filename)) == HARNESS_DIR


def _for_submitter(report: traceback.TracebackException, names: SourceNames) -> None:
    """Rename the files of a report and of the ones chained to it; drop the harness's own frames
    (loading, serving, calling a Kaggle agent) that lead to the agent's code."""
    pending: list[traceback.TracebackException | None] = [report]
    while pending:
        part = pending.pop()
        if part is None:
            continue
        while part.stack and _in_harness(part.stack[0].filename):
            del part.stack[0]
        for frame in part.stack:
            frame.filename = names(frame.filename)
        if getattr(part, "filename", None):  # where a SyntaxError is
            part.filename = names(part.filename)
        pending += [part.__cause__, part.__context__, *(getattr(part, "exceptions", None) or [])]


def describe(exc: BaseException, output: TailWriter, names: SourceNames) -> str:
    """Traceback tail (and the agent's last output) a submitter can act on, as Python prints it
    but with files named by `names`."""
    report = traceback.TracebackException.from_exception(exc)  # reads the source lines now
    _for_submitter(report, names)
    text = "".join(report.format())
    if output.text.strip():
        text += "\n--- agent output (tail) ---\n" + output.text
    return text[-DETAIL_CHARS:]


def load_agent(source: str, filename: str = "agent.py"):
    """Execute the agent's source as module `agent` (never `__main__`) and return its (act, reset)
    callables: a class Agent's, a function act's, else its last callable as a Kaggle agent."""
    module = types.ModuleType("agent")
    module.__file__ = filename
    sys.modules["agent"] = module
    exec(compile(source, filename, "exec"), module.__dict__)
    agent_class = getattr(module, "Agent", None)
    if isinstance(agent_class, type):
        instance = agent_class()
        act = getattr(instance, "act", None)
        if not callable(act):
            raise AttributeError("class Agent has no act(self, observation, info) method")
        return act, getattr(instance, "reset", None)
    act = getattr(module, "act", None)
    if callable(act):
        return act, getattr(module, "reset", None)
    agent = kaggle.last_callable(module.__dict__)
    if agent is None:
        raise AttributeError(
            f"{os.path.basename(filename)} defines neither act(observation, info) nor a class "
            "Agent with act(), nor a function to call as a Kaggle agent(observation, "
            "configuration)"
        )
    return kaggle.KaggleAgent(agent), None


def load_policy(agent_dir: str):
    """An ONNX policy's (act, reset): its fitting rules and onnxruntime load only for one."""
    policy = load_sibling(POLICY_MODULE, "onnx_policy.py")
    runner = load_sibling("rl_arena_onnx_runner", "onnx_runner.py")
    return runner.OnnxPolicy(agent_dir, policy), None


def policy_error(exc: BaseException) -> bool:
    """Whether ``exc`` is an ONNX policy's fault as the policy runner words it."""
    policy = sys.modules.get(POLICY_MODULE)  # loaded only for an ONNX policy
    return policy is not None and isinstance(exc, policy.PolicyError)


def load_entry(entry: str, agent_dir: str):
    """The (act, reset) of the agent whose entry file is ``entry``."""
    if os.path.basename(entry) == POLICY_FILE:
        return load_policy(agent_dir)
    with open(entry, encoding="utf-8") as fh:
        return load_agent(fh.read(), entry)


def entry_file(agent_dir: str) -> str:
    """The agent's entry file: agent.py, else main.py (a Kaggle archive's), else policy.onnx."""
    for name in ENTRY_FILES:
        path = os.path.join(agent_dir, name)
        if os.path.isfile(path):
            return path
    return os.path.join(agent_dir, ENTRY_FILES[0])  # opening it says what is missing


def to_wire(action):
    """Turn the agent's return value into plain JSON (numpy scalars and arrays included)."""
    if hasattr(action, "tolist"):  # numpy scalars and arrays
        return action.tolist()
    return action


def seed_globals(seed: int) -> None:
    """Seed the global RNGs agents commonly use, so a run replays identically."""
    random.seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(seed % 2**32)


def serve(channel: Channel, agent_dir: str, names: SourceNames) -> None:
    """Load the agent, then answer act requests until the referee says bye."""
    output = TailWriter()
    sys.stdout = sys.stderr = output

    def error(exc: BaseException) -> dict:
        if isinstance(exc, kaggle.NotAnAction):
            return {"t": "error", "kind": "illegal_action", "detail": str(exc)}
        if policy_error(exc):
            return {"t": "error", "kind": "crash", "detail": f"policy.onnx: {exc}"}
        return {"t": "error", "kind": failure_kind(exc), "detail": describe(exc, output, names)}

    main_pid = os.getpid()
    try:
        act, reset = load_entry(entry_file(agent_dir), agent_dir)
    except BaseException as exc:  # anything the agent's import does is the agent's fault
        channel.send(error(exc))
        return
    channel.send({"t": "ready", "v": channel.protocol.PROTOCOL_VERSION})
    static_info: dict = {}
    while True:
        message = channel.receive()
        if message is None or message.get("t") == "bye":
            return
        try:
            if "reset" in message:
                static_info = message["reset"]
                seed_globals(int(static_info.get("seed", 0)))
                if callable(reset):
                    reset(dict(static_info))
            action = act(message["obs"], {**static_info, **message["info"]})
        except BaseException as exc:
            if os.getpid() != main_pid:
                os._exit(1)  # a child forked by the agent must never talk on the channel
            channel.send(error(exc))
            continue
        if os.getpid() != main_pid:
            os._exit(0)
        try:
            line = channel.protocol.encode({"t": "action", "a": to_wire(action)})
        except (TypeError, ValueError):
            detail = f"act() returned {type(action).__name__!r}, which is not a valid action"
            channel.send({"t": "error", "kind": "illegal_action", "detail": detail})
            continue
        channel.sock.sendall(line)


def load_protocol() -> types.ModuleType:
    """Load protocol.py from next to this file without putting this folder on sys.path."""
    return load_sibling("rl_arena_protocol", "protocol.py")


def argument_parser() -> argparse.ArgumentParser:
    """The arguments of every entry point in the sandbox: where the referee is (a socket path or
    an inherited descriptor) and where the agent and its wheels lie."""
    parser = argparse.ArgumentParser()
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--connect")
    where.add_argument("--fd", type=int)
    parser.add_argument("--agent-dir", default="/agent")
    parser.add_argument("--deps", action="append", default=[])
    return parser


def agent_paths(args: argparse.Namespace) -> tuple[str, list[str]]:
    """The agent's folder and its wheels' folders, absolute."""
    return os.path.abspath(args.agent_dir), [os.path.abspath(d) for d in args.deps]


def put_agent_first(agent_dir: str, deps: list[str]) -> None:
    """Put the agent's folder, then its wheels, before everything else on sys.path: the
    agent's own wheels win, e.g. its numpy over the image's."""
    for path in reversed([agent_dir, *deps]):
        sys.path.insert(0, path)


def connect(args: argparse.Namespace) -> socket.socket:
    """The socket to the referee, then work from the agent's folder."""
    if args.connect:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(args.connect)
    else:
        sock = socket.socket(fileno=args.fd)
    os.chdir(os.path.abspath(args.agent_dir))
    return sock


def main() -> None:
    """Parse arguments, connect to the referee and serve."""
    args = argument_parser().parse_args()
    agent_dir, deps = agent_paths(args)
    put_agent_first(agent_dir, deps)
    protocol = load_protocol()
    sock = connect(args)
    serve(Channel(sock, protocol), agent_dir, SourceNames(agent_dir, deps))


if __name__ == "__main__":
    main()
