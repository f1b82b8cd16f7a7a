"""ONNX policies: a policy.onnx (alone, or in an archive with a policy.json) is checked at submit
and run by the stock harness with onnxruntime, in Docker (warm and cold) and the process sandbox.

The models are built here with onnx.helper (tests/support/onnx_models.py), no torch.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper
from sqlmodel import func, select

from jobs.tasks import configured_runner
from rl_arena_app.arena import onnx_check
from rl_arena_app.arena.bundle import AgentBundle, bundle_from_bytes
from rl_arena_app.arena.referee import Limits
from rl_arena_app.cli import main
from rl_arena_app.db.models import Submission, SubmissionStatus
from rl_arena_app.db.session import session_scope
from rl_arena_app.services.accounts import logins
from rl_arena_app.services.submissions import builds
from rl_arena_app.settings import get_settings
from tests.support.agents import builtin, bundle_from_source
from tests.support.api import API
from tests.support.files import tgz_bytes, zip_bytes
from tests.support.onnx_models import (
    CENTRE_FIRST,
    action_policy,
    cartpole_policy,
    linear_policy,
    memory_hog_policy,
    model_bytes,
    preference_policy,
    slow_policy,
)
from tests.support.processes import rl_arena
from tests.support.rows import fetch

C4 = "connect_four"
CARTPOLE = "CartPole-v1"
RELAXED = Limits(move_timeout_s=5, time_bank_s=10, startup_timeout_s=30)
LEFTMOST_FIRST = (7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0)
# The same order as a Python agent: the two fill each column in turn, so every column fills up
# and the policy's favourite is illegal long before the game ends.
LEFTMOST_LEGAL = """
import numpy as np

def act(observation, info):
    return int(np.flatnonzero(info["action_mask"])[0])
"""


@pytest.fixture(params=["warm", "cold"])
def docker_mode(request) -> str:
    """Every policy in a warm sandbox (the fork server's child) and a cold one."""
    return request.param


def policy(data: bytes, ref: str = "policy.onnx") -> AgentBundle:
    """An upload of these bytes (a .onnx, or an archive by ``ref``'s suffix)."""
    return bundle_from_bytes(data, ref=ref)


def created(response) -> int:
    """The id of the submission a 201 answer made (its Location)."""
    assert response.status_code == 201, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def two_inputs() -> bytes:
    """A model with a second input besides the observation."""
    return model_bytes([helper.make_node("Add", ["obs", "state"], ["logits"])],
                       [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, 2]),
                        helper.make_tensor_value_info("state", TensorProto.FLOAT, [1, 2])],
                       [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])])


def external_weights() -> bytes:
    """A CartPole-shaped model whose weights are in a file next to it, not inside."""
    weights = numpy_helper.from_array(np.zeros((4, 2), dtype=np.float32), "W")
    onnx.external_data_helper.set_external_data(weights, location="weights.bin")
    weights.ClearField("raw_data")
    weights.data_location = TensorProto.EXTERNAL
    return model_bytes([helper.make_node("MatMul", ["obs", "W"], ["logits"])],
                       [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, 4])],
                       [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])],
                       [weights], check=False)


def broken_graph() -> bytes:
    """A model whose only node reads a value nothing produces."""
    return model_bytes([helper.make_node("Relu", ["missing"], ["logits"])],
                       [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, 4])],
                       [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])],
                       check=False)


def unknown_operator() -> bytes:
    """A model ONNX accepts (a custom domain's operator) that onnxruntime cannot run."""
    graph = helper.make_graph(
        [helper.make_node("Mystery", ["obs"], ["logits"], domain="org.example")], "policy",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("org.example", 1)])
    model.ir_version = 8
    return model.SerializeToString()


REFUSED = {
    "not a model": ("policy.onnx", b"these bytes are no protobuf", CARTPOLE,
                    "policy.onnx is not a valid ONNX model"),
    "a graph ONNX's checker refuses": ("policy.onnx", broken_graph(), CARTPOLE,
                                       "policy.onnx is not a valid ONNX model"),
    "weights outside the model": ("policy.onnx", external_weights(), CARTPOLE, "external data"),
    "another env's input": ("policy.onnx", cartpole_policy(), C4,
                            "does not fit connect_four: the model's input 'obs' has shape [1, 4]"),
    "another env's output": ("policy.onnx", preference_policy((4,), (0.0, 1.0, 2.0)), CARTPOLE,
                             "CartPole-v1 needs 2 action scores"),
    "two inputs": ("policy.onnx", two_inputs(), CARTPOLE, "2 inputs ('obs', 'state')"),
    "a bad policy.json": ("policy.tar.gz", tgz_bytes({"policy.onnx": cartpole_policy(),
                                                      "policy.json": b'{"output": "softmax"}'}),
                          CARTPOLE, '"output" must be one of'),
    "policy.json naming another input": (
        "policy.zip", zip_bytes({"policy.onnx": cartpole_policy(),
                                 "policy.json": b'{"input": "observation"}'}),
        CARTPOLE, "names the input 'observation', which the model does not have"),
    "requirements beside a policy": (
        "policy.zip", zip_bytes({"policy.onnx": cartpole_policy(), "requirements.txt": b"torch\n"}),
        CARTPOLE, "which only Python agents use"),
}


@pytest.mark.parametrize(("filename", "content", "env", "words"), REFUSED.values(),
                         ids=REFUSED.keys())
def test_a_policy_that_does_not_load_or_fit_is_refused_at_submit(client, alice, filename, content,
                                                                 env, words):
    response = client.post(f"{API}/submissions", headers=alice.auth,
                           data={"env": env, "name": "policy"},
                           files={"file": (filename, content)})

    assert response.status_code == 400, response.text
    assert words in response.json()["reason"], response.json()["reason"]
    assert "/tmp" not in response.json()["reason"]
    with session_scope() as session:
        assert session.exec(select(func.count()).select_from(Submission)).one() == 0


def test_a_model_over_the_upload_limit_is_refused_with_how_to_shrink_it(client, alice,
                                                                         monkeypatch):
    monkeypatch.setenv("RL_ARENA_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    big = preference_policy((6, 7, 2), CENTRE_FIRST) + b"\0" * (1024 * 1024)

    response = client.post(f"{API}/submissions", headers=alice.auth,
                           data={"env": C4, "name": "policy"},
                           files={"file": ("big.onnx", big)})

    assert response.status_code == 413, response.text
    assert "larger than 1 MiB" in response.json()["detail"]


def test_reading_a_model_is_bounded_by_the_check_childs_memory(client, alice, monkeypatch):
    """The check reads models in a child with a memory ceiling: a model that needs more is
    refused, and the server that took the upload goes on. (A ceiling that onnx fits in but a
    40 MB model does not stands in for a hostile model that needs more than the real one.)"""
    monkeypatch.setattr(onnx_check, "CHILD_MEMORY_BYTES", 300 * 1024**2)
    weights = np.ones((84, 120_000), dtype=np.float32)
    heavy = linear_policy(weights, np.zeros(120_000), ["batch", 6, 7, 2])

    response = client.post(f"{API}/submissions", headers=alice.auth,
                           data={"env": C4, "name": "policy"},
                           files={"file": ("policy.onnx", heavy)})

    assert response.status_code == 400, response.text
    assert "could not be read within 300 MiB of memory" in response.json()["reason"]
    monkeypatch.undo()
    assert client.get(f"{API}/envs").status_code == 200


def test_a_check_that_cannot_start_is_the_platforms_fault_and_says_nothing_of_the_server(
        client, alice, monkeypatch):
    monkeypatch.setattr(onnx_check, "CHILD_MEMORY_BYTES", 32 * 1024**2)  # not even onnx fits

    response = client.post(f"{API}/submissions", headers=alice.auth,
                           data={"env": CARTPOLE, "name": "policy"},
                           files={"file": ("policy.onnx", cartpole_policy())})

    assert response.status_code == 503, response.text
    assert response.json()["reason"].endswith("the ONNX model check could not start (the "
                                              "server's log says why)")
    assert "/" not in response.json()["reason"].split(":", 1)[1]


def test_a_cartpole_policy_submitted_through_the_api_scores_500(client, alice, process_sandbox):
    response = client.post(f"{API}/submissions", headers=alice.auth,
                           data={"env": CARTPOLE, "name": "balancer", "algorithm": "PPO"},
                           files={"file": ("balancer.onnx", cartpole_policy())})
    assert response.status_code == 201, response.text

    submission_id = created(response)
    builds.build_and_validate(submission_id, configured_runner())

    done = fetch(Submission, submission_id)
    assert done.status == SubmissionStatus.READY, (done.reason, done.log_tail)
    assert done.score_mean == 500.0 and done.artifact_name == "balancer.onnx"


def test_a_policy_that_onnxruntime_cannot_load_fails_validation_with_its_reason(
        client, alice, process_sandbox):
    response = client.post(f"{API}/submissions", headers=alice.auth,
                           data={"env": CARTPOLE, "name": "mystery"},
                           files={"file": ("mystery.onnx", unknown_operator())})
    assert response.status_code == 201, response.text

    builds.build_and_validate(created(response), configured_runner())

    done = fetch(Submission, created(response))
    assert done.status == SubmissionStatus.FAILED
    assert "policy.onnx: onnxruntime cannot load it" in done.reason, done.reason
    assert "Mystery" in done.reason and str(process_sandbox.data_dir) not in done.log_tail


def test_rl_arena_submit_sends_a_policy_and_says_why_a_misfit_is_refused(api_url, tmp_path):
    logins.login("oidc", "sub-dana", "dana@example.org", True, "Dana")
    token = rl_arena("token", "create", "dana@example.org").stdout.strip()
    model = tmp_path / "balancer.onnx"
    model.write_bytes(cartpole_policy())

    sent = rl_arena("submit", CARTPOLE, str(model), "--name", "balancer", "--url", api_url,
                    "--token", token, "--json")
    refused = rl_arena("submit", C4, str(model), "--name", "balancer", "--url", api_url,
                       "--token", token)

    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["version"]["artifact_name"] == "balancer.onnx"
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith("error: policy.onnx does not fit connect_four: the "
                                     "model's input 'obs' has shape [1, 4]")
    assert len(refused.stderr.strip().splitlines()) == 1


def test_rl_arena_agent_add_takes_a_policy_and_refuses_a_misfit(process_sandbox, tmp_path):
    good, bad = tmp_path / "good.onnx", tmp_path / "bad.onnx"
    good.write_bytes(cartpole_policy())
    bad.write_bytes(cartpole_policy())
    runner = CliRunner()

    added = runner.invoke(main, ["agent", "add", CARTPOLE, str(good), "--name", "balancer",
                                 "--owner", "carol@example.org"])
    refused = runner.invoke(main, ["agent", "add", C4, str(bad), "--name", "balancer",
                                   "--owner", "carol@example.org"])

    assert added.exit_code == 0, added.output
    assert refused.exit_code != 0
    assert "does not fit connect_four" in refused.output


@pytest.mark.docker
@pytest.mark.parametrize("shape", [(1, 4), ("batch", 4), (4,)])
def test_a_cartpole_policy_balances_for_500_steps_in_docker(docker_play, shape):
    summary = docker_play(CARTPOLE, [policy(cartpole_policy(shape))], seed=0, limits=RELAXED,
                          episodes=3).summary()

    assert [e["forfeit"] for e in summary["episodes"]] == [None] * 3
    assert summary["mean_return"] == 500.0, summary["episodes"]


@pytest.mark.docker
def test_a_connect_four_policy_only_plays_legal_moves(docker_play):
    """The policy's favourite column fills up in every game: the masked argmax moves on."""
    leftmost = bundle_from_source(LEFTMOST_LEGAL, ref="leftmost.py")
    summary = docker_play(C4, [policy(preference_policy((6, 7, 2), LEFTMOST_FIRST)), leftmost],
                          seed=1, limits=RELAXED, games=2).summary()

    games = summary["games"]
    assert [g["forfeit"] for g in games] == [None, None], games
    assert all(g["steps"] > 6 for g in games)  # column 0 held at most 6 of the moves
    assert [g["winner"] for g in games] == [0, 1]  # whoever starts fills row 0 first


@pytest.mark.docker
def test_an_archive_with_policy_json_runs_its_settings(docker_play):
    """A flattened input named in policy.json, probabilities as the output."""
    data = tgz_bytes({"policy.onnx": preference_policy((84,), CENTRE_FIRST),
                      "policy.json": b'{"input": "obs", "observation": "flat", '
                                     b'"output": "probs"}'})
    summary = docker_play(C4, [policy(data, "policy.tar.gz"), builtin("random", C4)], seed=2,
                          limits=RELAXED, games=2).summary()

    assert [g["forfeit"] for g in summary["games"]] == [None, None], summary["games"]


@pytest.mark.docker
def test_a_model_that_wants_more_memory_than_the_limit_forfeits_on_resources(docker_play):
    summary = docker_play(CARTPOLE, [policy(memory_hog_policy())], seed=0, limits=RELAXED,
                          episodes=2).summary()

    forfeits = [e["forfeit"] for e in summary["episodes"]]
    assert [f and f["reason"] for f in forfeits] == ["resource_limit", "resource_limit"], forfeits


@pytest.mark.docker
def test_an_action_output_out_of_range_is_an_illegal_action(docker_play):
    summary = docker_play(CARTPOLE, [policy(action_policy(5))], seed=0, limits=RELAXED,
                          episodes=1).summary()

    forfeit = summary["episodes"][0]["forfeit"]
    assert forfeit["reason"] == "illegal_action" and "outside [0, 2)" in forfeit["detail"]


@pytest.mark.docker
def test_a_model_too_slow_for_the_move_limit_times_out(docker_play):
    tight = Limits(move_timeout_s=1, time_bank_s=1, startup_timeout_s=30)
    summary = docker_play(CARTPOLE, [policy(slow_policy())], seed=0, limits=tight,
                          episodes=1).summary()

    forfeit = summary["episodes"][0]["forfeit"]
    assert forfeit["reason"] == "timeout", forfeit
