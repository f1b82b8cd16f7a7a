"""Checking a submitted ONNX policy before it is stored: the model parses and passes ONNX's own
checker, and its input and output fit the env (``onnx_policy.fit``, as the sandbox runs it).

The model is read in a child process (``onnx_reader``, the model on stdin, an empty folder as its
working directory) with memory and CPU limits and no setting of ours in its environment: a
hostile protobuf costs that child, never the process that takes uploads, and a model that names
external files is refused before anything looks for them.
"""

from __future__ import annotations

import functools
import json
import logging
import subprocess
import sys
import tempfile
from typing import Any

import numpy as np

from rl_arena_app.arena import envs, onnx_reader
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
            done = subprocess.run(
                [sys.executable, "-I", "-m", onnx_reader.__name__, "--memory",
                 str(CHILD_MEMORY_BYTES), "--cpu", str(CHILD_CPU_S)], input=data,
                capture_output=True, env=CHILD_ENV, cwd=empty, timeout=CHILD_TIMEOUT_S,
                check=False)
    except subprocess.TimeoutExpired:
        raise BadAgent(f"{POLICY_FILE} took over {CHILD_TIMEOUT_S} s to read: {_EXPORT}"
                       ) from None
    try:
        report = json.loads(done.stdout.decode())
    except ValueError:
        report = None
    if not isinstance(report, dict):
        if onnx_reader.STARTED not in done.stderr:
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
