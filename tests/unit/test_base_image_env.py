"""The offline base-image build sees none of the platform's settings or secrets."""

from __future__ import annotations

from jobs.images.base import build_environment, run_reporting


def test_the_build_sees_its_own_knobs_and_no_secret(monkeypatch):
    monkeypatch.setenv("RL_ARENA_SECRET_KEY", "canary-secret-5e1a")
    monkeypatch.setenv("RL_ARENA_DATABASE_URL", "postgresql://u:canary-pw@db/arena")
    monkeypatch.setenv("REDIS_URL", "redis://:canary-redis@cache")
    monkeypatch.setenv("RL_ARENA_DEBIAN_MIRROR", "http://mirror.example/debian")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    env = build_environment()
    assert "canary" not in repr(env)
    assert env["RL_ARENA_DEBIAN_MIRROR"] == "http://mirror.example/debian"
    assert env["HTTPS_PROXY"] == "http://proxy.example:3128"
    assert "/usr/sbin" in env["PATH"]  # debootstrap lives there


def test_the_build_runs_with_that_environment(monkeypatch):
    monkeypatch.setenv("RL_ARENA_SECRET_KEY", "canary-secret-5e1a")
    code, lines = run_reporting(["bash", "-c", 'echo "key=${RL_ARENA_SECRET_KEY:-unset}" >&2'],
                                lambda line: None)
    assert (code, lines) == (0, ["key=unset"])


def test_the_build_sees_where_pip_gets_wheels_but_not_where_it_puts_them(monkeypatch):
    """The pinned wheels come from the operator's indexes; what and where pip installs is ours."""
    sources = {"PIP_INDEX_URL": "https://pypi.example/simple", "PIP_FIND_LINKS": "/opt/wheels",
               "PIP_EXTRA_INDEX_URL": "file:///opt/pypi/simple", "PIP_CERT": "/etc/ca.crt"}
    ours = {"PIP_TARGET": "/elsewhere", "PIP_CONSTRAINT": "/tmp/c.txt", "PIP_USER": "1",
            "PIP_REQUIRE_HASHES": "0", "PIP_PLATFORM": "win_amd64"}
    for name, value in {**sources, **ours}.items():
        monkeypatch.setenv(name, value)
    env = build_environment()
    assert {name: env.get(name) for name in sources} == sources
    assert not set(ours) & set(env)
