"""Checking a submitted ONNX policy before it is stored: the model parses and passes ONNX's own
checker, and its input and output fit the env (``onnx_policy.fit``, as the sandbox runs it).

The model is read in a child process (``python -m rl_arena_app.arena.onnx_check``, the model on
stdin, an empty folder as its working directory) with memory and CPU limits and no setting of
ours in its environment: a hostile protobuf costs that child, never the process that takes
uploads, and a model that names external files is refused before anything looks for them.
"""

from __future__ import annotations

import functools
import json
import logging
import resource
import subprocess
import sys
import tempfile
from typing import Any

import numpy as np

from rl_arena_app.arena import envs
from rl_arena_app.arena.bundle import AgentBundle
from rl_arena_app.arena.onnx_policy import (
    CONFIG_FILE,
    POLICY_FILE,
    PolicyError,
    Tensor,
    fit,
    parse_config,
)
from rl_arena_app.core.text import printable
from rl_arena_app.errors import BadAgent, InfrastructureError

CHILD_MEMORY_BYTES = 1024**3  # onnx itself needs under 256 MiB; a 50 MiB model a few times that
CHILD_CPU_S = 20
CHILD_TIMEOUT_S = 40
CHILD_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1",
             "OMP_NUM_THREADS": "1"}
_MESSAGE_CHARS = 300
# The child says so on stderr once onnx is imported: a failure before it is the platform's (the
# check could not start), one after it is the model's (it took more than the limits).
STARTED = b"rl-arena-onnx-check: started\n"
log = logging.getLogger(__name__)
_EXPORT = "export it again (torch.onnx.export, or the exporter of your framework)"


def check_policy(bundle: AgentBundle, env: envs.EnvSpec) -> None:
    """BadAgent saying what to fix unless the bundle's policy.onnx is a valid model that fits
    ``env``; nothing for an agent that is not an ONNX policy."""
    if not bundle.is_policy:
        return
    inputs, outputs = inspect_model(bundle.files[POLICY_FILE])
    shape, n_actions = env_signature(env.id)
    try:
        fit(parse_config(bundle.files.get(CONFIG_FILE)), inputs, outputs, env=env.id,
            observation_shape=shape, n_actions=n_actions)
    except PolicyError as exc:
        raise BadAgent(f"{POLICY_FILE} does not fit {env.id}: {exc}") from None


@functools.cache
def env_signature(env_id: str) -> tuple[tuple[int, ...], int]:
    """The shape of the env's observations, as the harness gets them, and its number of
    actions."""
    game = envs.make(env_id)
    game.reset(seed=0)
    observation, _ = game.observe()
    return tuple(np.asarray(observation).shape), game.n_actions


def inspect_model(data: bytes) -> tuple[list[Tensor], list[Tensor]]:
    """The model's inputs and outputs, read by the limited child; BadAgent when ONNX refuses
    the model."""
    try:
        with tempfile.TemporaryDirectory(prefix="rl-arena-onnx-") as empty:
            done = subprocess.run([sys.executable, "-I", "-m", __name__], input=data,
                                  capture_output=True, env=CHILD_ENV, cwd=empty,
                                  timeout=CHILD_TIMEOUT_S, preexec_fn=_limit_child, check=False)
    except subprocess.TimeoutExpired:
        raise BadAgent(f"{POLICY_FILE} took over {CHILD_TIMEOUT_S} s to read: {_EXPORT}"
                       ) from None
    try:
        report = json.loads(done.stdout.decode())
    except ValueError:
        report = None
    if not isinstance(report, dict):
        if STARTED not in done.stderr:
            log.error("the ONNX model check could not start (exit %s): %s", done.returncode,
                      done.stderr.decode(errors="replace")[-2000:])
            raise InfrastructureError("the ONNX model check could not start (the server's log "
                                      "says why)")
        raise BadAgent(f"{POLICY_FILE} could not be read within "
                       f"{CHILD_MEMORY_BYTES // 1024**2} MiB of memory and {CHILD_CPU_S} s of "
                       f"CPU: {_EXPORT}")
    if "error" in report:
        raise BadAgent(f"{POLICY_FILE} is not a valid ONNX model "
                       f"({printable(report['error'])}): {_EXPORT}")
    return _tensors(report["inputs"]), _tensors(report["outputs"])


def _tensors(rows: list[dict[str, Any]]) -> list[Tensor]:
    """The child's rows as Tensors."""
    return [Tensor(printable(row["name"]), row["type"],
                   None if row["shape"] is None else tuple(row["shape"])) for row in rows]


def _limit_child() -> None:
    """In the child, before it runs: a memory and a CPU-time ceiling."""
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CHILD_CPU_S, CHILD_CPU_S))


def _main() -> None:
    """The child: import onnx, say so, then read the model on stdin and report on stdout."""
    import onnx  # only the child loads onnx and its protobuf parser

    sys.stderr.buffer.write(STARTED)
    sys.stderr.flush()
    json.dump(_read_model(onnx, sys.stdin.buffer.read()), sys.stdout)


def _read_model(onnx: Any, data: bytes) -> dict[str, Any]:
    """In the child: the model's signature, or the reason ONNX refuses it."""
    try:
        model = onnx.load_model_from_string(data)
    except MemoryError:
        raise  # over the child's limit: the parent says so
    except Exception as exc:  # protobuf's DecodeError and whatever else the parser raises
        return {"error": _one_line(exc)}
    # Before the checker, which would look for external files (on this host) by their names.
    external = [t.name for t in model.graph.initializer
                if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        return {"error": f"its weights {external[0][:60]!r} are in external data files; export "
                         "the model with its weights inside"}
    try:
        onnx.checker.check_model(model, full_check=True)
    except MemoryError:
        raise
    except Exception as exc:  # onnx's ValidationError, InferenceError and the like
        return {"error": _one_line(exc)}
    initializers = {t.name for t in model.graph.initializer}
    return {"inputs": [_tensor_row(onnx, v) for v in model.graph.input
                       if v.name not in initializers],
            "outputs": [_tensor_row(onnx, v) for v in model.graph.output]}


def _tensor_row(onnx: Any, value: Any) -> dict[str, Any]:
    """One input or output: name, element type (``float``, ``int64``...) and shape."""
    kind = value.type
    if not kind.HasField("tensor_type"):
        return {"name": value.name, "type": kind.WhichOneof("value") or "unknown", "shape": None}
    tensor = kind.tensor_type
    element = onnx.TensorProto.DataType.Name(tensor.elem_type).lower()
    shape = None
    if tensor.HasField("shape"):
        shape = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
    return {"name": value.name, "type": element, "shape": shape}


def _one_line(exc: BaseException) -> str:
    """An exception's text on one line, cut for a message."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= _MESSAGE_CHARS else text[:_MESSAGE_CHARS - 1] + "…"


if __name__ == "__main__":
    _main()
