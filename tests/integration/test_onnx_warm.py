"""Warm sandboxes of an ONNX policy: the fork server imports onnxruntime once, before it forks, so
a match's agent process does not import it again; other agents' servers never load it, and an
agent that brings its own onnxruntime gets its own."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest

from jobs.images.agent import ensure_agent_image
from jobs.sandbox.docker import DockerHost
from jobs.sandbox.harness import forkserver
from jobs.sandbox.pool import SandboxPool
from jobs.sandbox.warm import WarmSandbox
from rl_arena_app.arena.bundle import AgentBundle, bundle_from_bytes
from rl_arena_app.settings import get_settings
from tests.support.onnx_models import cartpole_policy

PYTHON_AGENT = "def act(observation, info):\n    return 1\n"
HARNESS = forkserver.load_sibling("rl_arena_harness", "harness.py")


def server_maps(sandbox: WarmSandbox) -> str:
    """The memory map of the fork server in the sandbox's container (read from the host)."""
    assert sandbox.host is not None
    container = sandbox.host.box.container  # type: ignore[attr-defined]
    rows = [(pid, ppid, args) for pid, ppid, args in
            container.top(ps_args="-o pid,ppid,args")["Processes"]]
    # The server and its agent process run forkserver.py; docker-init names it as its argument.
    forkservers = {pid: ppid for pid, ppid, args in rows
                   if args.startswith("python3") and "forkserver.py" in args}
    [server] = [pid for pid, ppid in forkservers.items() if ppid not in forkservers]
    return Path(f"/proc/{server}/maps").read_text()


@pytest.mark.docker
@pytest.mark.parametrize(("bundle", "loaded"), [
    (bundle_from_bytes(cartpole_policy(), ref="policy.onnx"), True),
    (AgentBundle(ref="python", files={"agent.py": PYTHON_AGENT.encode()}), False),
], ids=["policy", "python"])
def test_only_a_policy_fork_server_loads_onnxruntime_before_it_forks(docker_engine, bundle,
                                                                     loaded):
    settings = get_settings()
    image = ensure_agent_image(docker_engine.client, bundle, settings.agent_base_image,
                               settings.agent_python_version)
    pool = SandboxPool(capacity=2)
    try:
        for _match in range(2):  # the second agent process is forked from the same server
            sandbox = WarmSandbox(pool, image, partial(DockerHost, docker_engine, image), image)
            sandbox.launch()
            try:
                sandbox.wait_ready(30)
                assert ("onnxruntime" in server_maps(sandbox)) is loaded
                reset = {"env": "CartPole-v1", "seed": 0, "player": 0,
                         "action_space": {"n": 2}}
                # The child's own session runs after the fork: the pole falls right, push right.
                action, _ = sandbox.act(np.array([0, 0, 0.1, 0], np.float32),
                                        {"player": 0, "step": 0}, reset, 5.0)
                assert action == 1
            finally:
                sandbox.close()
    finally:
        pool.close_all()


@pytest.mark.parametrize(("files", "folders", "shared"), [
    (["policy.onnx"], [], ["numpy", "onnxruntime"]),
    (["policy.onnx", "agent.py"], [], ["numpy"]),  # the model is one of agent.py's files
    (["policy.onnx", "main.py"], [], ["numpy"]),
    (["policy.onnx"], ["onnxruntime"], ["numpy"]),  # its own onnxruntime must win
    (["agent.py"], ["numpy"], []),
], ids=["policy", "agent.py", "main.py", "own-onnxruntime", "own-numpy"])
def test_the_server_imports_only_what_the_agent_runs_and_does_not_bring(tmp_path, files,
                                                                        folders, shared):
    agent_dir, deps = tmp_path / "agent", tmp_path / "deps"
    agent_dir.mkdir()
    for name in files:
        (agent_dir / name).write_bytes(b"")
    for name in folders:
        (deps / name).mkdir(parents=True)
    assert forkserver.shared_imports(HARNESS, str(agent_dir), [str(deps)]) == shared
