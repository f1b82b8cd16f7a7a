"""The Docker sandbox's own guarantees: limits applied, orphans swept, requirements as wheels."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import docker.errors
import pytest

from jobs.sandbox.docker import MANAGED_LABEL, OWNER_LABEL, DockerEngine
from tests.support.agents import builtin, bundle_from_source

pytestmark = pytest.mark.docker

LAUNCH_AND_HANG = """
import sys, time
from jobs.sandbox.factory import sandbox_factories
from tests.support.agents import builtin
[factory], _ = sandbox_factories("docker", [builtin("random", "tictactoe")])
sandbox = factory()
sandbox.launch()
sandbox.wait_ready(30)
print("ready", flush=True)
time.sleep(600)
"""


def orphaned_container() -> str:
    """The owner label of a sandbox container whose process was killed: an orphan."""
    child = subprocess.Popen([sys.executable, "-c", LAUNCH_AND_HANG], stdout=subprocess.PIPE,
                             text=True, cwd=os.getcwd())
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        return f"{os.uname().nodename}:{child.pid}"
    finally:
        child.send_signal(signal.SIGKILL)  # no finally blocks run: the container is orphaned
        child.wait()


def test_containers_of_a_killed_run_are_swept_on_the_next_start(docker_engine):
    owner = orphaned_container()
    assert len(docker_engine.managed_containers(owner=owner)) == 1
    DockerEngine()  # a new start sweeps what dead processes left behind
    assert docker_engine.managed_containers(owner=owner) == []


def test_rl_arena_sweep_removes_orphans_and_says_how_many(docker_engine):
    owner = orphaned_container()
    assert len(docker_engine.managed_containers(owner=owner)) == 1
    done = subprocess.run([sys.executable, "-m", "rl_arena_app.cli", "sweep"], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert docker_engine.managed_containers(owner=owner) == []
    removed = int(done.stdout.split()[1])  # "removed N orphaned container(s)"
    assert removed >= 1, done.stdout  # other runs' orphans may be swept too, never fewer


def foreign_container(engine: DockerEngine, command: str, start: bool = True) -> str:
    """A platform container whose owner ran elsewhere (another worker's container); its id."""
    from rl_arena_app.settings import get_settings

    container = engine.client.containers.create(
        get_settings().agent_base_image, ["python3", "-c", command], network_mode="none",
        labels={MANAGED_LABEL: "true", OWNER_LABEL: "another-host:7"})
    if start:
        container.start()
    return container.id


def test_containers_of_workers_elsewhere_are_swept_once_they_have_long_ended(
        docker_engine, monkeypatch):
    """A compose worker killed mid-match leaves its agent containers (ended: their fork server
    saw the referee hang up) to whichever worker shares the engine; a running one is never
    touched, nor one that ended moments ago (its owner may be reading its exit)."""
    import jobs.sandbox.docker as docker_sandbox

    ended = foreign_container(docker_engine, "pass")
    running = foreign_container(docker_engine, "import time; time.sleep(60)")
    unstarted = foreign_container(docker_engine, "pass", start=False)  # as an image build's
    try:
        docker_engine.client.containers.get(ended).wait(timeout=30)
        docker_engine.sweep_orphans()
        listed = {c.id for c in docker_engine.managed_containers(owner="another-host:7")}
        assert listed == {ended, running, unstarted}, "an orphan's grace time is a minute"

        monkeypatch.setattr(docker_sandbox, "ENDED_ORPHAN_S", 0.0)
        docker_engine.sweep_orphans()
        listed = {c.id for c in docker_engine.managed_containers(owner="another-host:7")}
        assert listed == {running, unstarted}, "a build's container keeps its longer grace"

        monkeypatch.setattr(docker_sandbox, "UNSTARTED_ORPHAN_S", 0.0)
        docker_engine.sweep_orphans()
        assert {c.id for c in docker_engine.managed_containers(owner="another-host:7")} == \
            {running}
    finally:
        for container_id in (ended, running, unstarted):
            with contextlib.suppress(docker.errors.NotFound):
                docker_engine.client.api.remove_container(container_id, force=True)


@pytest.mark.parametrize("warm", [16, 0], ids=["warm", "cold"])
def test_every_container_is_locked_down(docker_engine, warm):
    from jobs.sandbox.factory import sandbox_factories
    from jobs.sandbox.pool import close_pools
    from rl_arena_app.settings import get_settings

    settings = get_settings().model_copy(update={"warm_sandboxes": warm})
    [factory], _ = sandbox_factories("docker", [builtin("random", "tictactoe")], settings)
    sandbox = factory()
    sandbox.launch()
    # A warm container also runs the fork server: one more process, 32 MB for what it does
    # not share with the agent's process.
    server_pids, server_mb = (1, 32) if warm else (0, 0)
    try:
        sandbox.wait_ready(30)
        box = sandbox.host.box if warm else sandbox.box
        config = docker_engine.client.api.inspect_container(box.container.id)
        host = config["HostConfig"]
        assert host["NetworkMode"] == "none"
        assert host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"]
        assert "no-new-privileges" in host["SecurityOpt"]
        assert host["Memory"] == (512 + server_mb) * 1024 * 1024 == host["MemorySwap"]
        assert host["NanoCpus"] == 10**9 and host["PidsLimit"] == 64 + server_pids
        assert host["IpcMode"] == "none"
        assert "size=64m" in host["Tmpfs"]["/tmp"]
        assert config["Config"]["User"] == "65534:65534"
        assert config["Config"]["Labels"][MANAGED_LABEL] == "true"
        assert config["Config"]["Labels"][OWNER_LABEL].endswith(f":{os.getpid()}")
        mounts = {m["Destination"]: m for m in config["Mounts"]}
        assert mounts["/run/arena"]["RW"] is False
    finally:
        sandbox.close()
        close_pools()
    docker_engine.drain()
    assert docker_engine.managed_containers(owner=f"{os.uname().nodename}:{os.getpid()}") == []


def test_images_are_cached_by_content(docker_engine):
    from jobs.images.agent import ensure_agent_image
    from rl_arena_app.settings import get_settings

    source = f"# {time.time_ns()}\ndef act(observation, info):\n    return 0\n"
    bundle = bundle_from_source(source)
    base = get_settings().agent_base_image
    args = (docker_engine.client, bundle, base, "3.11")
    started = time.perf_counter()
    tag = ensure_agent_image(*args)
    built = time.perf_counter() - started
    try:
        started = time.perf_counter()
        assert ensure_agent_image(*args) == tag
        cached = time.perf_counter() - started
        assert cached < built / 5, (cached, built)
        other = ensure_agent_image(docker_engine.client, bundle_from_source(source + "#\n"),
                                   base, "3.11")
        assert other != tag
        docker_engine.client.images.remove(other, force=True)
    finally:
        docker_engine.client.images.remove(tag, force=True)


def imported_base(client, tag: str, content: str | None) -> str:
    """A one-file base image imported now (so with an id of its own), with ``content`` as its
    content label; its tag."""
    import io
    import tarfile

    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("etc/os-release")
        info.size = len(b"base\n")
        tar.addfile(info, io.BytesIO(b"base\n"))
    changes = [f"LABEL rl-arena.base-content={content}"] if content else []
    client.api.import_image_from_data(archive.getvalue(), repository=tag.split(":")[0],
                                      tag=tag.split(":")[1], changes=changes)
    return tag


def test_hosts_that_build_the_same_base_tag_agent_images_alike(docker_engine):
    """Every host imports its own base (ids differ) from the same packages (the content label
    agrees): an agent's image has the same tag on each, so routing and warm pools, which go by
    the tags in the database, hold on every host. Without the label the id decides."""
    from jobs.images.agent import agent_image_tag, base_identity

    client = docker_engine.client
    bundle = bundle_from_source(f"# {time.time_ns()}\ndef act(observation, info):\n    return 0\n")
    tags = [imported_base(client, f"rl-arena-test/base:{n}", content)
            for n, content in enumerate(["sha256:same", "sha256:same", "sha256:other", None])]
    try:
        images = [client.images.get(tag) for tag in tags]
        assert images[0].id != images[1].id
        named = [agent_image_tag(base_identity(image), bundle) for image in images]
        assert named[0] == named[1]
        assert named[2] != named[0] and named[3] != named[0]
        assert base_identity(images[3]) == images[3].id
    finally:
        for tag in tags:
            client.images.remove(tag, force=True)


def test_requirements_are_installed_as_wheels_into_the_image(docker_play):
    from rl_arena_app.arena.bundle import AgentBundle

    # A pure-Python wheel the base image lacks; the agent proves it imports inside the sandbox.
    agent = ("import six\n\ndef act(observation, info):\n"
             "    return int(info['action_mask'].argmax()) if six.PY3 else 99\n")
    bundle = AgentBundle(ref="with-reqs", files={"agent.py": agent.encode(),
                                                  "requirements.txt": b"six==1.16.0\n"})
    summary = docker_play("tictactoe", [bundle, builtin("random", "tictactoe")]).summary()
    assert all(g["forfeit"] is None for g in summary["games"]), summary
