"""How an ONNX policy's input and output fit an env, and what policy.json may say (pure logic)."""

from __future__ import annotations

import math

import pytest

from rl_arena_app.arena.onnx_policy import (
    PolicyConfig,
    PolicyError,
    Tensor,
    choose,
    fit,
    parse_config,
)

C4 = {"env": "connect_four", "observation_shape": (6, 7, 2), "n_actions": 7}
CARTPOLE = {"env": "CartPole-v1", "observation_shape": (4,), "n_actions": 2}
LOGITS = Tensor("logits", "float", (1, 7))
NO_CONFIG = PolicyConfig()


def plan(shape, output=LOGITS, config=NO_CONFIG, env=None, input_type="float"):
    return fit(config, [Tensor("obs", input_type, shape)], [output], **(env or C4))


@pytest.mark.parametrize(("shape", "layout", "fed"), [
    ((1, 6, 7, 2), "env", (1, 6, 7, 2)),
    ((None, 6, 7, 2), "env", (1, 6, 7, 2)),
    ((6, 7, 2), "env", (6, 7, 2)),
    ((1, 84), "flat", (1, 84)),
    ((None, 84), "flat", (1, 84)),
    ((84,), "flat", (84,)),
    ((None, None, None, None), "env", (1, 6, 7, 2)),
])
def test_the_input_takes_the_observation_as_it_is_or_flattened(shape, layout, fed):
    got = plan(shape)
    assert (got.layout, got.shape, got.input) == (layout, fed, "obs")


@pytest.mark.parametrize("shape", [(1, 83), (2, 84), (1, 7, 6, 2), (1, 1, 84), None])
def test_an_input_of_another_shape_is_refused_with_both_shapes_it_could_take(shape):
    with pytest.raises(PolicyError) as refused:
        plan(shape)
    message = str(refused.value)
    assert "[6, 7, 2]" in message and "[84]" in message and "'obs'" in message


def test_policy_json_picks_the_layout():
    assert plan((None, 84), config=PolicyConfig(observation="flat")).layout == "flat"
    with pytest.raises(PolicyError, match=r"does not fit the observation flattened \[84\]"):
        plan((1, 6, 7, 2), config=PolicyConfig(observation="flat"))


def test_a_flat_observation_is_named_once():
    with pytest.raises(PolicyError) as refused:
        plan((1, 5), output=Tensor("logits", "float", (1, 2)), env=CARTPOLE)
    assert "does not fit CartPole-v1's observation [4]" in str(refused.value)
    assert "flattened" not in str(refused.value).split(":")[0]


def test_the_observation_input_is_the_only_one_or_the_named_one():
    two = [Tensor("obs", "float", (1, 84)), Tensor("state", "float", (1, 8))]
    with pytest.raises(PolicyError, match=r"2 inputs .*'obs', 'state'.* only the observation"):
        fit(PolicyConfig(), two, [LOGITS], **C4)
    with pytest.raises(PolicyError, match=r"names the input 'x'.*its inputs: 'obs'"):
        plan((1, 84), config=PolicyConfig(input="x"))
    assert plan((1, 84), config=PolicyConfig(input="obs")).input == "obs"


def test_a_string_input_is_refused():
    with pytest.raises(PolicyError, match="takes string tensors"):
        plan((1, 84), input_type="string")


@pytest.mark.parametrize(("output", "kind"), [
    (Tensor("logits", "float", (1, 7)), "logits"),
    (Tensor("logits", "float", (7,)), "logits"),
    (Tensor("logits", "float", (None, 7)), "logits"),
    (Tensor("logits", "float", (None, None)), "logits"),
    (Tensor("logits", "float", None), "logits"),
    (Tensor("action", "int64", (None,)), "action"),
    (Tensor("action", "int64", (1,)), "action"),
    (Tensor("action", "float", (1, 1)), "action"),
])
def test_the_output_kind_follows_its_type_and_shape(output, kind):
    assert plan((1, 84), output=output).output == kind


@pytest.mark.parametrize("output", [Tensor("logits", "float", (1, 3)),
                                    Tensor("logits", "float", (2, 7)),
                                    Tensor("action", "int64", (1, 7))])
def test_an_output_that_fits_no_kind_is_refused_with_the_wanted_shape(output):
    with pytest.raises(PolicyError, match=r"connect_four needs"):
        plan((1, 84), output=output)


def test_policy_json_says_what_the_output_is():
    scores = Tensor("out", "float", (1, 7))
    assert plan((1, 84), output=scores, config=PolicyConfig(output="probs")).output == "probs"
    with pytest.raises(PolicyError, match="one action number"):
        plan((1, 84), output=scores, config=PolicyConfig(output="action"))


def test_masked_argmax_plays_the_best_legal_action():
    scores = [0.1, 5.0, 0.3, 9.0]
    assert choose("logits", scores, 4) == 3
    assert choose("logits", scores, 4, [1, 1, 1, 0]) == 1
    assert choose("probs", scores, 4, [1, 0, 1, 0]) == 2
    assert choose("logits", [1.0, 1.0, 1.0], 3, [0, 1, 1]) == 1  # the first of equal ones


def test_nan_or_a_wrong_count_of_scores_is_an_error_not_a_guess():
    with pytest.raises(PolicyError, match="NaN as the score of action 1"):
        choose("logits", [0.0, math.nan], 2)
    assert choose("logits", [0.0, math.nan], 2, [1, 0]) == 0  # an illegal action's score is unused
    with pytest.raises(PolicyError, match="output 3 action scores, but there are 2"):
        choose("logits", [0.0, 1.0, 2.0], 2)


def test_an_action_output_is_the_action():
    assert choose("action", [3.0], 7) == 3
    for bad in ([2.5], [math.inf], [1.0, 2.0]):
        with pytest.raises(PolicyError):
            choose("action", bad, 7)


def test_policy_json_settings():
    assert parse_config(None) == PolicyConfig()
    assert parse_config(b'{"input": "x", "observation": "flat", "output": "probs"}') == \
        PolicyConfig("x", "flat", "probs")


@pytest.mark.parametrize(("raw", "says"), [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"outptu": "logits"}', "unknown setting 'outptu'"),
    (b'{"output": "softmax"}', '"output" must be one of "logits", "probs", "action"'),
    (b'{"observation": "image"}', '"observation" must be one of "env", "flat"'),
    (b'{"input": 3}', '"input" must be the name'),
    (b'{"input": "a\\u001b[31m"}', '"input" must be the name'),
    (b" " * 5000, "larger than 4096 bytes"),
    (b"\xff\xfe", "not valid JSON"),
])
def test_a_bad_policy_json_is_refused_with_what_to_write(raw, says):
    with pytest.raises(PolicyError, match=None) as refused:
        parse_config(raw)
    assert says in str(refused.value)
