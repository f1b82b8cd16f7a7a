"""Small ONNX policies built with onnx.helper (no torch), as the bytes of a policy.onnx."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
# CartPole: push right (action 1) when 0.01 x + 0.1 x' + θ + 0.5 θ' > 0, i.e. when the pole falls
# right; it balances for all 500 steps.
CARTPOLE_GAINS = (0.01, 0.1, 1.0, 0.5)
# connect_four: the centre column first, then the ones next to it, the edges last.
CENTRE_FIRST = (1.0, 2.0, 3.0, 4.0, 3.5, 2.5, 1.5)
Shape = Sequence[int | str]


def model_bytes(nodes: Sequence[onnx.NodeProto], inputs: Sequence[onnx.ValueInfoProto],
                outputs: Sequence[onnx.ValueInfoProto],
                weights: Sequence[onnx.TensorProto] = (), *, check: bool = True) -> bytes:
    """A model of these nodes (checked by ONNX unless ``check`` is off), serialized."""
    graph = helper.make_graph(list(nodes), "policy", list(inputs), list(outputs), list(weights))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    if check:
        onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def linear_policy(weights: np.ndarray, bias: np.ndarray, input_shape: Shape, *,
                  input_name: str = "obs", output_name: str = "logits",
                  output_shape: Shape | None = None) -> bytes:
    """scores = flatten(obs) @ weights + bias, for an input of ``input_shape``."""
    n_in, n_out = weights.shape
    return model_bytes(
        [helper.make_node("Reshape", [input_name, "flat_shape"], ["flat"]),
         helper.make_node("MatMul", ["flat", "W"], ["scores"]),
         helper.make_node("Add", ["scores", "b"], [output_name])],
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT,
                                       list(output_shape or [1, n_out]))],
        [numpy_helper.from_array(weights.astype(np.float32), "W"),
         numpy_helper.from_array(bias.astype(np.float32), "b"),
         numpy_helper.from_array(np.array([1, n_in], dtype=np.int64), "flat_shape")])


def cartpole_policy(input_shape: Shape = (1, 4)) -> bytes:
    """The balancing CartPole policy: logits [0, gains · observation]."""
    weights = np.zeros((4, 2))
    weights[:, 1] = CARTPOLE_GAINS
    return linear_policy(weights, np.zeros(2), input_shape)


def preference_policy(observation_shape: Sequence[int], preference: Sequence[float]) -> bytes:
    """A policy that ignores the board and scores each action by ``preference`` (batch first)."""
    n_in = int(np.prod(observation_shape))
    return linear_policy(np.zeros((n_in, len(preference))), np.asarray(preference),
                         ["batch", *observation_shape])


def memory_hog_policy(gib: int = 4) -> bytes:
    """A CartPole-shaped policy that fills a ``gib`` GiB tensor before it answers."""
    count = gib * 1024**3 // 4
    return model_bytes(
        [helper.make_node("ConstantOfShape", ["size"], ["big"],
                          value=numpy_helper.from_array(np.array([1.0], dtype=np.float32))),
         helper.make_node("ReduceSum", ["big"], ["total"], keepdims=1),
         helper.make_node("Mul", ["obs", "total"], ["scaled"]),
         helper.make_node("Slice", ["scaled", "start", "stop", "axis"], ["logits"])],
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])],
        [numpy_helper.from_array(np.array([count], dtype=np.int64), "size"),
         numpy_helper.from_array(np.array([0], dtype=np.int64), "start"),
         numpy_helper.from_array(np.array([2], dtype=np.int64), "stop"),
         numpy_helper.from_array(np.array([1], dtype=np.int64), "axis")])


def action_policy(action: int, input_shape: Shape = (1, 4)) -> bytes:
    """A policy that outputs the action itself (int64 [1]), whatever it sees."""
    return model_bytes(
        [helper.make_node("Shape", ["obs"], ["shape"], start=0, end=1),
         helper.make_node("ConstantOfShape", ["shape"], ["action"],
                          value=numpy_helper.from_array(np.array([action], dtype=np.int64)))],
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("action", TensorProto.INT64, [1])])


def slow_policy(size: int = 2048, products: int = 30) -> bytes:
    """A CartPole-shaped policy that multiplies ``size``² matrices ``products`` times per move
    (the first one depends on the observation, so nothing is folded ahead of time)."""
    nodes = [helper.make_node("ReduceSum", ["obs"], ["total"], keepdims=0),
             helper.make_node("ConstantOfShape", ["size"], ["ones"],
                              value=numpy_helper.from_array(np.array([1.0], dtype=np.float32))),
             helper.make_node("Mul", ["ones", "total"], ["m0"])]
    for k in range(products):
        nodes.append(helper.make_node("MatMul", [f"m{k}", "ones"], [f"m{k + 1}"]))
    nodes += [helper.make_node("Slice", [f"m{products}", "start", "stop", "axis"], ["row"]),
              helper.make_node("Reshape", ["row", "out_shape"], ["logits"])]
    return model_bytes(
        nodes,
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])],
        [numpy_helper.from_array(np.array([size, size], dtype=np.int64), "size"),
         numpy_helper.from_array(np.array([0, 0], dtype=np.int64), "start"),
         numpy_helper.from_array(np.array([1, 2], dtype=np.int64), "stop"),
         numpy_helper.from_array(np.array([0, 1], dtype=np.int64), "axis"),
         numpy_helper.from_array(np.array([1, 2], dtype=np.int64), "out_shape")])
