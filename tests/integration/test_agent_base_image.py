"""The agent base image runs ONNX policies: onnxruntime imports under ``python3 -I`` and runs a
small model on the CPU, in a container locked down as the sandbox locks agents' down."""

from __future__ import annotations

import base64
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from jobs.sandbox.docker import AGENT_UID
from rl_arena_app.settings import get_settings

pytestmark = pytest.mark.docker

WEIGHTS = np.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 0.25]], dtype=np.float32)
BIAS = np.array([0.1, -0.2], dtype=np.float32)
# Reads the model from the environment (base64), runs it on one observation, prints the result.
RUN_MODEL = """
import base64, json, os, sys
import numpy as np
import onnxruntime as ort
model = base64.b64decode(os.environ["MODEL"])
session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
observation = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
(logits,) = session.run(None, {"observation": observation})
print(json.dumps({"providers": ort.get_available_providers(), "logits": logits.tolist(),
                  "paths": [m.__file__ for m in (np, ort)], "isolated": sys.flags.isolated}))
"""


def policy_model() -> bytes:
    """A linear policy, observation (1x3) @ W + b: the shape of a small exported MLP's layer."""
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["observation", "W", "b"], ["logits"])], "policy",
        [helper.make_tensor_value_info("observation", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])],
        initializer=[onnx.numpy_helper.from_array(WEIGHTS, "W"),
                     onnx.numpy_helper.from_array(BIAS, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def test_the_base_runs_an_onnx_policy_offline_as_an_agent(docker_engine):
    output = docker_engine.client.containers.run(
        get_settings().agent_base_image, ["python3", "-I", "-c", RUN_MODEL],
        environment={"MODEL": base64.b64encode(policy_model()).decode()},
        network_mode="none", read_only=True, user=f"{AGENT_UID}:{AGENT_UID}",
        cap_drop=["ALL"], security_opt=["no-new-privileges"],
        tmpfs={"/tmp": "rw,nosuid,nodev,size=16m,mode=1777"}, remove=True,
        stdout=True, stderr=True)
    lines = output.decode().strip().splitlines()
    result = json.loads(next(line for line in lines if line.startswith("{")))
    # Telemetry is off (ORT_DISABLE_TELEMETRY): no attempt to keep a device id, nor its warning
    # in every agent's stderr.
    assert not [line for line in lines if "telemetry" in line.lower()], lines

    assert result["isolated"] == 1
    assert "CPUExecutionProvider" in result["providers"]
    expected = np.array([[1.0, 2.0, 3.0]], dtype=np.float32) @ WEIGHTS + BIAS
    np.testing.assert_allclose(result["logits"], expected, rtol=1e-6)
    # The image's own packages, none from a mounted or user folder.
    assert all(path.startswith("/usr/") for path in result["paths"]), result["paths"]

