"""Each environment's "ONNX form" gives shapes that the submit check and the harness accept."""

from __future__ import annotations

import re

import pytest

from rl_arena_app.arena import env_docs, envs
from rl_arena_app.arena.onnx_check import env_signature
from rl_arena_app.arena.onnx_policy import PolicyConfig, Tensor, fit


@pytest.mark.parametrize("env_id", [spec.id for spec in envs.list_envs()])
def test_the_documented_shapes_fit_the_environment(env_id):
    spec = envs.spec(env_id)
    section = env_docs.onnx_section(spec)
    shape, n_actions = env_signature(env_id)
    shapes = [tuple(int(d) for d in found.split(", "))
              for found in re.findall(r"shape `\[([0-9, ]+)\]`", section)]
    flat = re.search(r"flattened, `\[([0-9, ]+)\]`", section)
    given_shapes = {"env": (1, *shape)}
    if len(shape) > 1:
        given_shapes["flat"] = tuple(map(int, flat[1].split(", ")))
    else:
        assert flat is None  # a flat observation is one shape, said once

    assert shapes == [(1, *shape), (1, n_actions), (1,)]  # as it is, the scores, an action
    for layout, given in given_shapes.items():
        plan = fit(PolicyConfig(), [Tensor("obs", "float", given)],
                   [Tensor("logits", "float", (1, n_actions))], env=env_id,
                   observation_shape=shape, n_actions=n_actions)
        assert (plan.layout, plan.output) == (layout, "logits")
    assert f"torch.zeros(1, {', '.join(map(str, shape))})" in section
