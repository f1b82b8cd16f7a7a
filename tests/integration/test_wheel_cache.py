"""Agents' requirements with real pip: no secret in pip's environment, failures summarised, and
a cache keyed by the resolved set, bounded by size, shared by sandboxes and workers."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.images import wheels
from jobs.images.requirements import install
from jobs.images.requirements.target import PIP_PASSTHROUGH, Target, pip_environment
from jobs.images.wheels import WheelCache
from rl_arena_app.errors import BadAgent

PYTHON = "3.11"
CANARIES = {
    "RL_ARENA_SECRET_KEY": "canary-secret-key-5b1d",
    "RL_ARENA_OIDC_CLIENT_SECRET": "canary-oidc-secret-77ae",
    "RL_ARENA_GITHUB_CLIENT_SECRET": "canary-github-secret-0c3f",
    "RL_ARENA_GOOGLE_CLIENT_SECRET": "canary-google-secret-9d2e",
    "RL_ARENA_DATABASE_URL": "postgresql://arena:canary-db-pass-41fa@db.internal/arena",
    "DATABASE_URL": "postgresql://arena:canary-db-pass-2-8e1c@db.internal/arena",
    "REDIS_URL": "redis://:canary-redis-pass-c0de@redis.internal:6379/0",
    "RL_ARENA_METRICS_TOKEN": "canary-metrics-token-a11b",
    "AWS_SECRET_ACCESS_KEY": "canary-aws-secret-3e3e",
}
FIXED = {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "PIP_DISABLE_PIP_VERSION_CHECK",
         "PIP_NO_INPUT", "PIP_NO_COLOR", "PIP_PROGRESS_BAR"}


@pytest.fixture
def canaries(monkeypatch) -> dict[str, str]:
    """Every secret the worker could hold, set to a distinctive value in its environment."""
    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    return CANARIES


def leaked(text: str) -> list[str]:
    """The canary values found in ``text``."""
    return [value for value in CANARIES.values() if value in text]


@pytest.fixture(scope="module")
def six_wheels(tmp_path_factory) -> Path:
    """A local "index" (a find-links folder) holding six 1.16.0 only, for now."""
    folder = tmp_path_factory.mktemp("six-wheels")
    for version in ("1.16.0", "1.17.0"):
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary=:all:", "-d", str(folder / version), f"six=={version}"],
                       check=True, env=pip_environment(folder))
    return folder


@pytest.fixture
def local_index(six_wheels, tmp_path, monkeypatch) -> Iterator[Path]:
    """pip reads only this folder (no network); an "upstream release" is a file copied in."""
    index = tmp_path / "index"
    index.mkdir()
    for wheel in (six_wheels / "1.16.0").iterdir():
        (index / wheel.name).write_bytes(wheel.read_bytes())
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    yield index


def release_six_1_17(six_wheels: Path, index: Path) -> None:
    for wheel in (six_wheels / "1.17.0").iterdir():
        (index / wheel.name).write_bytes(wheel.read_bytes())


def entries(cache: WheelCache) -> list[str]:
    """The cached sets: the version of six each holds."""
    sets = cache.root / "sets"
    found = []
    for entry in sorted(sets.iterdir()) if sets.is_dir() else ():
        if not entry.name.startswith("."):
            found += [p.name for p in (entry / "site").glob("six-*.dist-info")]
    return sorted(found)


# ------------------------------------------------------------------------------- pip's secrets


def test_pip_environment_is_an_allow_list(canaries, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("PIP_INDEX_URL", "https://mirror.internal/simple")

    env = pip_environment(tmp_path)

    assert set(env) <= PIP_PASSTHROUGH | FIXED, set(env) - PIP_PASSTHROUGH - FIXED
    assert not any(name.startswith("RL_ARENA_") for name in env)
    assert "REDIS_URL" not in env and "DATABASE_URL" not in env
    assert leaked(json.dumps(env)) == []
    assert env["HOME"] == env["TMPDIR"] == str(tmp_path) and env["PATH"] == "/usr/bin:/bin"
    assert env["HTTPS_PROXY"] == "http://proxy.internal:3128"  # the way to the index stays
    assert env["PIP_INDEX_URL"] == "https://mirror.internal/simple"


def test_pip_runs_without_the_workers_secrets(canaries, tmp_path, caplog) -> None:
    """Real pip, handed the red-team line directly (as a stored artifact from before the submit
    check would): it has no secret to expand, and its output goes to the worker's log only."""
    caplog.set_level(logging.WARNING, logger="jobs.images.requirements.install")
    with pytest.raises(BadAgent) as caught:
        install.resolve(["six===${RL_ARENA_SECRET_KEY}"], Target.sandbox(PYTHON), tmp_path)

    assert leaked(str(caught.value)) == [] and leaked(caplog.text) == []
    assert "six===${RL_ARENA_SECRET_KEY}" in caplog.text  # pip saw no such variable
    assert "ERROR:" not in str(caught.value) and "ERROR:" in caplog.text


@pytest.mark.parametrize(("requirements", "said"), [
    ("six==99\n", ["'six==99'", "no release matching it has a binary wheel",
                   "e.g. six==1.17.0"]),
    ("six==1.16.0\nsix==1.17.0\n", ["version conflict between 'six==1.16.0' and "
                                    "'six==1.17.0'", "loosen one of the pins"]),
    ("rl-arena-no-such-project-q7==1.0\n", ["there is no project "
                                            "rl-arena-no-such-project-q7"]),
])
def test_what_pip_refused_is_summarised(tmp_path, requirements, said) -> None:
    with pytest.raises(BadAgent) as caught:
        install.install_requirements(requirements, tmp_path / "deps", PYTHON)

    message = str(caught.value)
    for phrase in said:
        assert phrase in message
    assert message.startswith("requirements.txt cannot be installed as binary wheels for "
                              f"Python {PYTHON}")
    assert "ERROR" not in message and "pip.pypa.io" not in message and "\n" not in message
    assert str(tmp_path) not in message and "/tmp/rl-arena-pip" not in message


# ------------------------------------------------------------------------------------ the cache


def test_texts_resolving_to_one_set_share_an_entry(local_index, tmp_path) -> None:
    cache = WheelCache(tmp_path / "wheels", 100 << 20)
    for text in ("six\n", "six>=1.0  # any\n", "SIX==1.16.0\n"):
        with cache.installed(text, PYTHON) as site:
            assert (site / "six.py").is_file()

    assert entries(cache) == ["six-1.16.0.dist-info"]


def test_a_new_upstream_release_makes_a_new_entry(local_index, six_wheels, tmp_path) -> None:
    cache = WheelCache(tmp_path / "wheels", 100 << 20)
    with cache.installed("six\n", PYTHON):
        pass
    release_six_1_17(six_wheels, local_index)

    with cache.installed("six\n", PYTHON) as site:
        assert "1.17.0" in (site / "six.py").read_text()

    assert entries(cache) == ["six-1.16.0.dist-info", "six-1.17.0.dist-info"]


def test_reuse_resolution_skips_pip_while_its_set_is_cached(local_index, six_wheels,
                                                            tmp_path) -> None:
    """The process sandbox launches an agent per match: no resolution each time."""
    cache = WheelCache(tmp_path / "wheels", 100 << 20)
    with cache.installed("six\n", PYTHON, reuse_resolution=True):
        pass
    release_six_1_17(six_wheels, local_index)

    with cache.installed("six\n", PYTHON, reuse_resolution=True) as site:
        assert "1.16.0" in (site / "six.py").read_text()  # the set it was validated with


def test_least_recently_used_sets_are_evicted_past_the_size_limit(local_index, six_wheels,
                                                                  tmp_path) -> None:
    probe = WheelCache(tmp_path / "probe", 100 << 20)
    with probe.installed("six==1.16.0\n", PYTHON) as site:
        one_entry = sum(p.stat().st_size for p in site.parent.rglob("*") if p.is_file())
    release_six_1_17(six_wheels, local_index)
    cache = WheelCache(tmp_path / "wheels", int(one_entry * 1.5))  # room for one set

    with cache.installed("six==1.16.0\n", PYTHON):
        pass
    with cache.installed("six==1.17.0\n", PYTHON):
        pass
    assert entries(cache) == ["six-1.17.0.dist-info"]
    with cache.installed("six==1.16.0\n", PYTHON):
        pass
    assert entries(cache) == ["six-1.16.0.dist-info"]
    remembered = [json.loads(m.read_text()) for m in (cache.root / "resolutions").iterdir()]
    assert [m["pins"][0][1] for m in remembered] == ["1.16.0"]  # 1.17.0's went with its set


def test_an_entry_in_use_is_never_evicted(local_index, six_wheels, tmp_path) -> None:
    release_six_1_17(six_wheels, local_index)
    cache = WheelCache(tmp_path / "wheels", 1)  # everything is over the limit
    holding, release = threading.Event(), threading.Event()

    def hold_six_1_16() -> None:
        with cache.installed("six==1.16.0\n", PYTHON) as site:
            holding.set()
            release.wait(60)
            assert (site / "six.py").is_file()

    holder = threading.Thread(target=hold_six_1_16)
    holder.start()
    assert holding.wait(60)
    with cache.installed("six==1.17.0\n", PYTHON):  # evicts what it can: not the held one
        assert entries(cache) == ["six-1.16.0.dist-info", "six-1.17.0.dist-info"]
    assert entries(cache) == ["six-1.16.0.dist-info", "six-1.17.0.dist-info"]
    release.set()
    holder.join(60)

    cache.evict()
    assert entries(cache) == []


def test_workers_installing_one_set_at_once_share_it(local_index, tmp_path) -> None:
    root = tmp_path / "wheels"
    script = ("import sys\nfrom pathlib import Path\nfrom jobs.images.wheels import WheelCache\n"
              "with WheelCache(Path(sys.argv[1]), 100 << 20).installed('six\\n', '3.11') as s:\n"
              "    print((s / 'six.py').is_file())\n")
    workers = [subprocess.Popen([sys.executable, "-c", script, str(root)], text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for _ in range(3)]
    results = [worker.communicate(timeout=300) for worker in workers]

    assert [out.strip() for out, _ in results] == ["True"] * 3, [err for _, err in results]
    assert entries(WheelCache(root, 0)) == ["six-1.16.0.dist-info"]
    assert [p.name for p in (root / "sets").iterdir() if p.name.startswith(".")] == []


def test_the_old_text_keyed_entries_are_removed(local_index, tmp_path) -> None:
    legacy = tmp_path / "wheels" / "0123456789abcdef01234567"
    (legacy / "six.py").parent.mkdir(parents=True)
    (legacy / "six.py").write_text("")
    with WheelCache(tmp_path / "wheels", 100 << 20).installed("six\n", PYTHON):
        pass
    assert not legacy.exists()


def test_both_sandboxes_use_the_wheels_folder_of_the_data_dir(platform) -> None:
    assert WheelCache.of().root == (platform.data_dir / "wheels").absolute()
    assert WheelCache.of().max_bytes == platform.wheel_cache_mb << 20



def test_docker_and_process_sandboxes_share_the_data_dirs_cache(platform, docker_play,
                                                                monkeypatch) -> None:
    """An image build (as the docker_play fixture does it, without naming a cache) fills
    <data dir>/wheels; the process sandbox then finds the set there and installs nothing."""
    from jobs.sandbox.process import ProcessSandbox
    from rl_arena_app.arena import envs
    from rl_arena_app.arena.bundle import AgentBundle
    from rl_arena_app.arena.referee import Limits
    from rl_arena_app.arena.run import play

    source = (f"# {uuid.uuid4()}: a new image every run\nimport six\n\n"
              "def act(observation, info):\n"
              "    return int(info['action_mask'].argmax()) if six.PY3 else 99\n")
    bundle = AgentBundle(ref="six-agent", files={"agent.py": source.encode(),
                                                 "requirements.txt": b"six==1.17.0\n"})
    opponent = AgentBundle(ref="first", files={"agent.py": b"def act(observation, info):\n"
                                                            b"    return int(info['action_mask']"
                                                            b".argmax())\n"})

    in_docker = docker_play("tictactoe", [bundle, opponent], games=2)
    cache = WheelCache.of()
    assert entries(cache) == ["six-1.17.0.dist-info"]

    installs: list[object] = []
    monkeypatch.setattr(wheels, "install_pins", lambda *args, **kwargs: installs.append(args))
    in_process = play(envs.spec("tictactoe"), [lambda: ProcessSandbox(bundle, platform),
                                               lambda: ProcessSandbox(opponent, platform)],
                      ["six-agent", "first"], sandbox="process", seed=0,
                      limits=Limits(move_timeout_s=1, time_bank_s=1, startup_timeout_s=20),
                      games=2)

    assert [g.forfeit for g in in_docker.games + in_process.games] == [None] * 4
    assert installs == [] and entries(cache) == ["six-1.17.0.dist-info"]
