"""ONNX policies: what ``policy.json`` may say, and how a model's input and output fit an env.

This module is copied into every agent sandbox next to the harness, so it imports only the
standard library. Submissions check a model's signature against it before the upload is stored;
the sandbox's harness fits the same way when the model runs, so the two never disagree.

A model fits an env when its observation input takes the env's observation as it is (``env``) or
flattened (``flat``), with or without a batch dimension of 1 (or a named one) first; its first
output gives one score per action (``logits`` or ``probs``: the best legal action is played) or
the action itself (``action``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

POLICY_FILE = "policy.onnx"
CONFIG_FILE = "policy.json"
LAYOUTS = ("env", "flat")
OUTPUTS = ("logits", "probs", "action")
MAX_CONFIG_BYTES = 4096
MAX_NAME_CHARS = 200
# Element types an observation can be cast to (ONNX's names, lower case).
NUMERIC_INPUTS = ("float", "double", "float16", "int8", "int16", "int32", "int64", "uint8",
                  "uint16", "uint32", "uint64")
INTEGER_OUTPUTS = tuple(t for t in NUMERIC_INPUTS if "int" in t)
Dim = int | None  # None: a named or unknown dimension
_EXPORT_HINT = ("export the model for one observation, e.g. with input shape [1, {n}] for the "
                "flattened observation")


class PolicyError(ValueError):
    """What is wrong with an ONNX policy or its policy.json, said for its author."""


@dataclass(frozen=True)
class PolicyConfig:
    """policy.json: the observation input's name, its layout and what the output means; each
    None when the model's shapes decide."""

    input: str | None = None
    observation: str | None = None
    output: str | None = None


@dataclass(frozen=True)
class Tensor:
    """One of a model's inputs or outputs: name, element type (``float``...) and shape (None
    when the model does not say its rank)."""

    name: str
    type: str
    shape: tuple[Dim, ...] | None


@dataclass(frozen=True)
class Plan:
    """How to run a model in an env: feed the observation, cast to ``dtype`` and reshaped to
    ``shape``, as ``input``; read the first output as ``output``."""

    input: str
    shape: tuple[int, ...]
    dtype: str
    layout: str
    output: str


def parse_config(raw: bytes | None) -> PolicyConfig:
    """policy.json's settings (none when there is no file), or PolicyError saying what to fix."""
    if raw is None:
        return PolicyConfig()
    if len(raw) > MAX_CONFIG_BYTES:
        raise PolicyError(f"{CONFIG_FILE} is larger than {MAX_CONFIG_BYTES} bytes: it holds three "
                          'settings, e.g. {"input": "obs", "observation": "flat", '
                          '"output": "logits"}')
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PolicyError(f"{CONFIG_FILE} is not valid JSON ({_one_line(exc)}): write an object "
                          'such as {"output": "logits"}') from None
    if not isinstance(data, dict):
        raise PolicyError(f'{CONFIG_FILE} must be a JSON object, e.g. {{"output": "logits"}}')
    unknown = sorted(set(data) - {"input", "observation", "output"})
    if unknown:
        raise PolicyError(f"{CONFIG_FILE} has unknown setting {_shown(unknown[0])}: the settings "
                          "are input, observation and output")
    return PolicyConfig(input=_name_setting(data.get("input")),
                        observation=_choice(data, "observation", LAYOUTS),
                        output=_choice(data, "output", OUTPUTS))


def fit(config: PolicyConfig, inputs: Sequence[Tensor], outputs: Sequence[Tensor], *,
        env: str, observation_shape: Sequence[int], n_actions: int) -> Plan:
    """How the model runs in ``env``, or PolicyError saying why it does not fit."""
    given = _observation_input(config, inputs)
    if given.type not in NUMERIC_INPUTS:
        raise PolicyError(f"the model's input {_shown(given.name)} takes {given.type} tensors: "
                          "an observation input must take numbers (e.g. float)")
    layout, shape = _layout(config, given, tuple(observation_shape), env)
    if not outputs:
        raise PolicyError("the model has no output: it must output action scores or an action")
    return Plan(input=given.name, shape=shape, dtype=given.type, layout=layout,
                output=_output_kind(config, outputs[0], env, n_actions))


def choose(kind: str, values: Sequence[float], n_actions: int,
           mask: Sequence[int] | None = None) -> int:
    """The action a model's output picks: the best legal score (``logits``/``probs``; the first
    of equal ones) or the action it gives (``action``)."""
    if kind == "action":
        if len(values) != 1:
            raise PolicyError(f"the model output {len(values)} values where one action was "
                              'expected: set "output" in policy.json to "logits" if they are '
                              "action scores")
        value = float(values[0])
        if not math.isfinite(value) or value != int(value):
            raise PolicyError(f"the model output {value!r}, which is not an action number")
        return int(value)
    if len(values) != n_actions:
        raise PolicyError(f"the model output {len(values)} action scores, but there are "
                          f"{n_actions} actions")
    best: int | None = None
    for action, score in enumerate(values):
        if mask is not None and not mask[action]:
            continue
        if math.isnan(score):
            raise PolicyError(f"the model output NaN as the score of action {action}: check "
                              "the exported model on this observation")
        if best is None or score > values[best]:
            best = action
    if best is None:
        raise PolicyError("no action is legal now")  # the referee never asks then
    return best


def describe_shape(shape: Sequence[Dim] | None) -> str:
    """A shape as people write it: [1, 4], with ? for a named or unknown dimension."""
    if shape is None:
        return "of unknown rank"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _observation_input(config: PolicyConfig, inputs: Sequence[Tensor]) -> Tensor:
    """The input the observation goes to: the model's only one (named in policy.json or not)."""
    names = ", ".join(_shown(t.name) for t in inputs) or "none"
    if config.input is not None and all(t.name != config.input for t in inputs):
        raise PolicyError(f"{CONFIG_FILE} names the input {_shown(config.input)}, which the "
                          f"model does not have (its inputs: {names})")
    if not inputs:
        raise PolicyError("the model has no input: it must take the observation")
    if len(inputs) > 1:
        raise PolicyError(f"the model has {len(inputs)} inputs ({names}): a policy takes only "
                          "the observation; export it with one input")
    return inputs[0]


def _layout(config: PolicyConfig, given: Tensor, observation: tuple[int, ...],
            env: str) -> tuple[str, tuple[int, ...]]:
    """The layout (env or flat) whose shape the input takes, and that shape made concrete."""
    flat = (math.prod(observation),)
    layouts = [config.observation] if config.observation else list(LAYOUTS)
    for layout in layouts:
        wanted = observation if layout == "env" else flat
        shape = _concrete(given.shape, wanted)
        if shape is not None:
            return layout, shape
    ways = {"env": f"{env}'s observation {describe_shape(observation)}",
            "flat": f"the observation flattened {describe_shape(flat)}"}
    if flat == observation:  # a flat observation: one way only
        layouts = layouts[:1]
    fits = ("fits neither " + " nor ".join(ways[layout] for layout in layouts)
            if len(layouts) > 1 else "does not fit " + ways[layouts[0]])
    raise PolicyError(f"the model's input {_shown(given.name)} has shape "
                      f"{describe_shape(given.shape)}, which {fits}, with or without a batch "
                      f"dimension first: {_EXPORT_HINT.format(n=flat[0])}")


def _concrete(shape: tuple[Dim, ...] | None, wanted: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape to feed when a model input of ``shape`` takes ``wanted`` (batched first)."""
    if shape is None:
        return None
    for candidate in ((1, *wanted), wanted):
        if len(shape) == len(candidate) and all(d is None or d == c
                                                for d, c in zip(shape, candidate, strict=True)):
            return candidate
    return None


def _output_kind(config: PolicyConfig, output: Tensor, env: str, n_actions: int) -> str:
    """What the first output means (policy.json's word, else its type and shape decide), checked
    against the env's number of actions; an unknown size is checked when the model runs."""
    shape = output.shape
    kind = config.output or _guessed_kind(output, n_actions)
    if kind == "action":
        fits = shape is None or all(d in (None, 1) for d in shape)
        wanted, example = "one action number", (1,)
    else:
        fits = shape is None or (len(shape) >= 1 and shape[-1] in (None, n_actions)
                                 and all(d in (None, 1) for d in shape[:-1]))
        wanted, example = f"{n_actions} action scores, one per action of {env}", (1, n_actions)
    if output.type not in (*NUMERIC_INPUTS, "bool"):
        raise PolicyError(f"the model's output {_shown(output.name)} is {output.type}: it must "
                          "be numbers")
    if not fits:
        raise PolicyError(f"the model's output {_shown(output.name)} has shape "
                          f"{describe_shape(shape)}, but {env} needs {wanted} (e.g. shape "
                          f"{describe_shape(example)})")
    return kind


def _guessed_kind(output: Tensor, n_actions: int) -> str:
    """An output of integers, or of one fixed value, is the action; anything else scores."""
    shape = output.shape
    if output.type in INTEGER_OUTPUTS:
        return "action"
    if shape is not None and shape and shape[-1] == n_actions:
        return "logits"
    if shape is not None and all(d == 1 for d in shape):
        return "action"
    return "logits"


def _name_setting(value: object) -> str | None:
    """policy.json's input name: None, or a short one-line string."""
    if value is None:
        return None
    if (not isinstance(value, str) or not value or len(value) > MAX_NAME_CHARS
            or not value.isprintable()):
        raise PolicyError(f'{CONFIG_FILE}\'s "input" must be the name of the model\'s input, '
                          f"one line of at most {MAX_NAME_CHARS} characters")
    return value


def _choice(data: dict, key: str, allowed: tuple[str, ...]) -> str | None:
    """One of policy.json's closed settings, or None when it is not given."""
    value = data.get(key)
    if value is None or value in allowed:
        return value
    options = ", ".join(f'"{a}"' for a in allowed)
    raise PolicyError(f'{CONFIG_FILE}\'s "{key}" must be one of {options}, not '
                      f"{_shown(value)}")


def _shown(value: object) -> str:
    """A name or value from a model or policy.json, quoted and cut for a message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…'"


def _one_line(exc: BaseException) -> str:
    """An exception's text on one line."""
    return " ".join(str(exc).split())
