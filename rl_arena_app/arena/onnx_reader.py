"""The child process that reads a submitted ONNX model for ``onnx_check``: it limits itself,
imports onnx, then parses and checks the model it reads on stdin, and prints the model's inputs
and outputs (or ONNX's reason to refuse it) as JSON on stdout.

Usage: python -I -m rl_arena_app.arena.onnx_reader --memory BYTES --cpu SECONDS
Standard library at the top: the process imports nothing of the platform's but this file.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from typing import Any

# Written to stderr once onnx is imported: a failure before it is the platform's (the check could
# not start), one after it is the model's (it took more than the limits).
STARTED = b"rl-arena-onnx-check: started\n"
MESSAGE_CHARS = 300


def main() -> None:
    """Limit this process, import onnx and say so, then read the model and report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory", type=int, required=True)
    parser.add_argument("--cpu", type=int, required=True)
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_AS, (args.memory, args.memory))
    resource.setrlimit(resource.RLIMIT_CPU, (args.cpu, args.cpu))
    import onnx  # after the limits, as everything the model reaches

    sys.stderr.buffer.write(STARTED)
    sys.stderr.flush()
    json.dump(read_model(onnx, sys.stdin.buffer.read()), sys.stdout)


def read_model(onnx: Any, data: bytes) -> dict[str, Any]:
    """The model's signature, or the reason ONNX refuses it (MemoryError is left to end the
    process: the parent reports it as over the limits)."""
    try:
        model = onnx.load_model_from_string(data)
    except MemoryError:
        raise
    except Exception as exc:  # protobuf's DecodeError and whatever else the parser raises
        return {"error": one_line(exc)}
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
        return {"error": one_line(exc)}
    initializers = {t.name for t in model.graph.initializer}
    return {"inputs": [tensor_row(onnx, v) for v in model.graph.input
                       if v.name not in initializers],
            "outputs": [tensor_row(onnx, v) for v in model.graph.output]}


def tensor_row(onnx: Any, value: Any) -> dict[str, Any]:
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


def one_line(exc: BaseException) -> str:
    """An exception's text on one line, cut for a message."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS - 1] + "…"


if __name__ == "__main__":
    main()
