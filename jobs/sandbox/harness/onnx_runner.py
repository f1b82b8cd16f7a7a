"""ONNX policies in the sandbox: policy.onnx run by onnxruntime, one observation at a time.

Loaded by the harness only for an agent that is a policy.onnx (with no agent.py or main.py), so
other agents never import onnxruntime. ``onnx_policy.py`` (next to this file) says how the model's
input and output fit the env; the harness passes it in. The session runs on one thread: an agent
has one core's worth of CPU, and the process limit leaves no room for a thread pool.
"""

from __future__ import annotations

import os
import types
from typing import Any

import numpy as np
import onnxruntime

# ONNX element types (onnxruntime says "tensor(float)") as numpy dtypes.
DTYPES = {"float": np.float32, "double": np.float64, "float16": np.float16, "int8": np.int8,
          "int16": np.int16, "int32": np.int32, "int64": np.int64, "uint8": np.uint8,
          "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64, "bool": np.bool_}
# onnxruntime reports a failed allocation in its own exceptions, with one of these words.
OUT_OF_MEMORY = ("Failed to allocate memory", "bad_alloc", "out of memory")


def session_options() -> onnxruntime.SessionOptions:
    """One thread, no spinning, errors only in the log."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class OnnxPolicy:
    """A policy.onnx as the harness calls agents: act(observation, info) -> int."""

    def __init__(self, agent_dir: str, policy: types.ModuleType) -> None:
        self.policy = policy
        self.agent_dir = agent_dir
        config_path = os.path.join(agent_dir, policy.CONFIG_FILE)
        raw = None
        if os.path.isfile(config_path):
            with open(config_path, "rb") as fh:
                raw = fh.read(policy.MAX_CONFIG_BYTES + 1)
        self.config = policy.parse_config(raw)
        try:
            self.session = onnxruntime.InferenceSession(
                os.path.join(agent_dir, policy.POLICY_FILE), session_options(),
                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's own exception types, for any unloadable model
            raise self.failure("onnxruntime cannot load it", exc) from None
        self.plan = None

    def __call__(self, observation: Any, info: dict[str, Any]) -> int:
        """Feed the observation, read the output, pick the action."""
        n_actions = int((info.get("action_space") or {}).get("n", 0))
        observation = np.asarray(observation)
        if self.plan is None:
            inputs = [self.tensor(v) for v in self.session.get_inputs()]
            outputs = [self.tensor(v) for v in self.session.get_outputs()]
            self.plan = self.policy.fit(self.config, inputs, outputs, env=str(info.get("env")),
                                        observation_shape=observation.shape,
                                        n_actions=n_actions)
        plan = self.plan
        feed = observation.astype(DTYPES[plan.dtype]).reshape(plan.shape)
        try:
            first = self.session.run(None, {plan.input: feed})[0]
        except Exception as exc:  # onnxruntime's own exception types
            raise self.failure("it failed on this observation", exc) from None
        values = np.asarray(first, dtype=np.float64).ravel().tolist()
        mask = info.get("action_mask")
        mask = None if mask is None else np.asarray(mask).ravel().tolist()
        return self.policy.choose(plan.output, values, n_actions, mask)

    def tensor(self, value: Any) -> Any:
        """onnxruntime's description of an input or output as an onnx_policy.Tensor."""
        kind = value.type  # e.g. "tensor(float)"
        element = kind[len("tensor("):-1] if kind.startswith("tensor(") else kind
        dims = None if value.shape is None else tuple(
            d if isinstance(d, int) and d >= 0 else None for d in value.shape)
        return self.policy.Tensor(value.name, element, dims)

    def failure(self, what: str, exc: Exception) -> Exception:
        """onnxruntime's error as the harness reports it: out of memory is a resource limit."""
        # Named as the submitter knows it, never by the folder it lies in here.
        message = " ".join(str(exc).split()).replace(os.path.join(self.agent_dir, ""), "")[:600]
        if any(word in message for word in OUT_OF_MEMORY):
            return MemoryError(f"{what}: out of memory ({message})")
        return self.policy.PolicyError(f"{what}: {message}")
