"""The `rl-arena play` command as a user runs it: JSON shape, replays and exit codes."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from rl_arena_app.arena.replay import read_replay, without_timing
from rl_arena_app.cli import main

CLI = [sys.executable, "-m", "rl_arena_app.cli"]


def rl_arena(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=240,
                          env={**os.environ, **(env or {})}, check=False)


def test_duel_json_has_the_documented_shape():
    done = rl_arena("play", "tictactoe", "builtin:minimax", "builtin:random", "--games", "4",
                    "--sandbox", "inprocess", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"env", "env_version", "seed", "sandbox", "agents", "games", "points",
                        "duration_s"}
    assert [a["ref"] for a in out["agents"]] == ["builtin:minimax", "builtin:random"]
    assert [g["first"] for g in out["games"]] == [0, 1, 0, 1]
    for game in out["games"]:
        assert set(game) == {"first", "outcome", "winner", "forfeit", "steps", "duration_s"}
        assert game["outcome"] in {"win", "draw"} and game["winner"] != 1  # minimax never loses
    assert sum(out["points"]) == 4 and out["points"][0] >= 2


def test_solo_json_has_the_documented_shape():
    done = rl_arena("play", "CartPole-v1", "builtin:random", "--episodes", "3",
                    "--sandbox", "inprocess", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"env", "env_version", "seed", "sandbox", "agents", "episodes",
                        "mean_return", "std_return", "duration_s"}
    assert len(out["episodes"]) == 3
    for episode in out["episodes"]:
        assert set(episode) == {"seed", "return", "steps", "outcome", "forfeit"}
        assert episode["outcome"] == "done" and episode["return"] == episode["steps"]
    returns = [e["return"] for e in out["episodes"]]
    assert out["mean_return"] == pytest.approx(sum(returns) / 3)


@pytest.mark.parametrize(("args", "message"), [
    (["play", "chess", "builtin:random", "builtin:random"], "unknown environment 'chess'"),
    (["play", "tictactoe", "builtin:random"], "give exactly 2 agents"),
    (["play", "CartPole-v1", "builtin:random", "builtin:random"], "give exactly 1 agent"),
    (["play", "tictactoe", "nowhere/agent.py", "builtin:random"], "does not exist"),
    (["play", "tictactoe", "builtin:chess_master", "builtin:random"], "unknown built-in"),
    (["play", "tictactoe", "builtin:random", "builtin:random", "--episodes", "3"], "use --games"),
    (["play", "CartPole-v1", "builtin:random", "--games", "3"], "use --episodes"),
])
def test_bad_input_exits_2_with_one_line(args, message):
    done = rl_arena(*args, "--sandbox", "inprocess")
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""


def test_unsafe_archive_exits_2(tmp_path: Path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("agent.py", "def act(o, i):\n    return 0\n")
        zf.writestr("../escape.py", "x = 1\n")
    done = rl_arena("play", "tictactoe", str(archive), "builtin:random", "--sandbox", "process")
    assert done.returncode == 2
    assert "evil.zip" in done.stderr or ".." in done.stderr


def test_inprocess_refuses_uploaded_code(tmp_path: Path):
    agent = tmp_path / "agent.py"
    agent.write_text("def act(o, i):\n    return 0\n")
    done = rl_arena("play", "tictactoe", str(agent), "builtin:random", "--sandbox", "inprocess")
    assert done.returncode == 2
    assert "only built-in agents" in done.stderr


def test_unreachable_docker_is_an_infrastructure_error_with_advice():
    done = rl_arena("play", "tictactoe", "builtin:random", "builtin:random", "--sandbox", "docker",
                    env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert done.returncode == 3
    assert "Docker engine not reachable: start dockerd or use --sandbox process" in done.stderr


@pytest.mark.docker
def test_docker_run_writes_a_deterministic_replay(docker_engine, tmp_path: Path):
    paths = [tmp_path / "a.json.gz", tmp_path / "b.json.gz"]
    for path in paths:
        done = rl_arena("play", "connect_four", "builtin:lookahead", "builtin:random",
                        "--seed", "11", "--replay", str(path), "--json")
        assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["sandbox"] == "docker"
    # Containers are removed in the background, but before the command exits.
    left = docker_engine.client.containers.list(all=True, filters={"label": "rl-arena.managed"})
    owners = {c.labels.get("rl-arena.owner", ":").partition(":")[2] for c in left}
    assert all(pid.isdigit() and Path(f"/proc/{pid}").exists() for pid in owners), owners
    assert all(a["image"].startswith("rl-arena/agent:") for a in summary["agents"])
    first, second = (read_replay(p) for p in paths)
    assert without_timing(first) == without_timing(second)
    assert first["env"] == "connect_four" and first["env_version"]
    assert [a["image"] for a in first["agents"]] == [a["image"] for a in summary["agents"]]
    game = first["games"][0]
    assert game["seed"] is not None and len(game["agent_seeds"]) == 2
    assert len(game["initial_state"]) == 42 and set(game["initial_state"]) == {"0"}
    step = game["steps"][0]
    assert step["time_s"] > 0 and len(step["state"]) == 42 and step["state"].count("1") == 1
    assert len(game["steps"]) == summary["games"][0]["steps"]


@pytest.mark.docker
def test_archive_agent_reads_its_data_files_in_docker(docker_engine, tmp_path: Path):
    import io
    import tarfile

    archive = tmp_path / "agent.tar.gz"
    files = {
        "agent.py": ("import json, pathlib\n"
                     "PREFS = json.loads(pathlib.Path('weights.json').read_text())['order']\n"
                     "def act(observation, info):\n"
                     "    return next(a for a in PREFS if info['action_mask'][a])\n"),
        "weights.json": json.dumps({"order": [4, 0, 2, 6, 8, 1, 3, 5, 7]}),
    }
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"my_agent/{name}")  # wrapped in a folder, as people do
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    done = rl_arena("play", "tictactoe", str(archive), "builtin:random", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert [g["forfeit"] for g in summary["games"]] == [None, None]


def test_ratings_fit_elo_and_bt(tmp_path: Path):
    from rl_arena_app.core.ratings import replay_elo

    games = [("x", "y", 1.0), ("x", "z", 1.0), ("y", "z", 0.5), ("z", "x", 0.0)] * 5
    csv_path = tmp_path / "games.csv"
    csv_path.write_text("a,b,score_a\n" + "".join(f"{a},{b},{s}\n" for a, b, s in games))
    elo = rl_arena("ratings", "fit", str(csv_path), "--method", "elo", "--json")
    assert elo.returncode == 0, elo.stderr
    rows = {r["id"]: r for r in json.loads(elo.stdout)["ratings"]}
    expected = replay_elo(games)
    assert {k: r["rating"] for k, r in rows.items()} == expected.ratings
    assert rows["x"]["games"] == 15
    bt = rl_arena("ratings", "fit", str(csv_path), "--method", "bt", "--bootstrap", "30",
                  "--json")
    assert bt.returncode == 0, bt.stderr
    ranked = json.loads(bt.stdout)["ratings"]
    assert ranked[0]["id"] == "x" and ranked[0]["rank_ub"] == 1
    assert all(r["ci_low"] <= r["rating"] <= r["ci_high"] for r in ranked)


def test_ratings_fit_refuses_a_bad_row(tmp_path: Path):
    csv_path = tmp_path / "games.csv"
    csv_path.write_text("a,b,score_a\nx,y,1\nx,y,2\n")
    done = rl_arena("ratings", "fit", str(csv_path))
    assert done.returncode == 2
    assert "games.csv:3" in done.stderr and "score_a" in done.stderr


# ------------------------------------------------------------- version, help, completion, env


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group of the CLI, as the words that name it."""
    paths = []
    for name, command in group.commands.items():
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths += command_paths(command, (*prefix, name))
    return paths


def test_version_is_the_installed_packages():
    done = rl_arena("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"rl-arena {importlib.metadata.version('rl-arena')}\n"


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_every_command_and_group_takes_h_and_help(flag):
    paths = [(), *command_paths(main)]
    assert ("env", "disable") in paths and ("ratings", "rebuild") in paths
    for path in paths:
        done = CliRunner().invoke(main, [*path, flag], prog_name="rl-arena")
        assert done.exit_code == 0, (path, done.output)
        assert done.output.startswith(f"Usage: {' '.join(('rl-arena', *path))} "), done.output


def test_env_is_one_group_and_envs_a_hidden_alias():
    listed = rl_arena("env", "list")
    assert listed.returncode == 0 and "tictactoe" in listed.stdout
    for old in (["envs"], ["env"]):
        assert rl_arena(*old).stdout == listed.stdout
    assert rl_arena("envs", "--json").stdout == rl_arena("env", "list", "--json").stdout
    assert rl_arena("envs", "show", "tictactoe").stdout == \
        rl_arena("env", "show", "tictactoe").stdout
    assert rl_arena("envs", "starter", "tictactoe").stdout == \
        rl_arena("env", "starter", "tictactoe").stdout
    group_help = rl_arena("env", "-h").stdout
    for sub in ("list", "show", "starter", "docs", "enable", "disable"):
        assert f"\n  {sub} " in group_help, group_help
    top_help = rl_arena("-h").stdout
    assert "\n  env " in top_help and "envs" not in top_help


def test_the_old_env_spellings_change_the_env(platform):
    from rl_arena_app.services.catalog import open_env_kinds

    assert CliRunner().invoke(main, ["envs", "disable", "tictactoe"]).exit_code == 0
    assert "tictactoe" not in open_env_kinds()
    assert CliRunner().invoke(main, ["env", "enable", "tictactoe"]).exit_code == 0
    assert "tictactoe" in open_env_kinds()


def test_bash_completes_commands_with_the_printed_script():
    scripts = os.path.dirname(sys.executable)
    assert shutil.which("rl-arena", path=scripts), "the console script is installed beside python"
    script = rl_arena("completion", "bash")
    assert script.returncode == 0 and "_RL_ARENA_COMPLETE=bash_complete" in script.stdout
    words = {"rl-arena en": ["env"], "rl-arena env d": ["disable", "docs"],
             "rl-arena ratings r": ["rebuild"]}
    for line, expected in words.items():
        done = subprocess.run(
            ["bash", "-c", f'source /dev/stdin; COMP_WORDS=({line}); '
                           f'COMP_CWORD={len(line.split()) - 1}; _rl_arena_completion rl-arena; '
                           'echo "${COMPREPLY[@]}"'],
            input=script.stdout, capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "PATH": f"{scripts}:{os.environ['PATH']}"})
        assert done.stdout.split() == expected, (line, done.stdout, done.stderr)


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_are_printed(shell):
    done = rl_arena("completion", shell)
    assert done.returncode == 0, done.stderr
    assert "_RL_ARENA_COMPLETE" in done.stdout and "rl-arena" in done.stdout
