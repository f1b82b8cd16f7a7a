"""Secret scoring seeds of solo environments: an agent that memorises the public seeds gains
nothing; seeds change with the season and the env, hold within a season, and never reach an
agent or a public replay while their season runs."""

from __future__ import annotations

import pytest

from jobs.tasks import configured_runner
from rl_arena_app.arena import envs
from rl_arena_app.arena.referee import derive_seed
from rl_arena_app.db.models import Submission, SubmissionStatus
from rl_arena_app.services.admin import actions, audit
from rl_arena_app.services.matches.replays import load_replay, validation_replay
from rl_arena_app.services.practice import check_local_run, play_local_run
from rl_arena_app.services.submissions import builds, intake
from rl_arena_app.services.submissions.seasons import current_season, start_new_season
from rl_arena_app.settings import get_settings
from tests.support.files import write
from tests.support.rows import fetch

OWNER = "alice@example.org"
CARTPOLE = envs.spec("CartPole-v1")
# What a memoriser can know: the info["seed"] of each public (practice) episode.
PUBLIC_INFO_SEEDS = sorted(derive_seed(CARTPOLE.seed, i, 0) for i in range(CARTPOLE.episodes))
MEMORISER = f"""\
PUBLIC = {PUBLIC_INFO_SEEDS!r}


class Agent:
    def reset(self, info):
        self.known = info.get("seed") in PUBLIC

    def act(self, observation, info):
        if not self.known:
            return 0
        return 0 if observation[2] + 0.5 * observation[3] < 0 else 1
"""
ALWAYS_LEFT = "def act(observation, info):\n    return 0\n"
BALANCER = MEMORISER.replace("if not self.known", "if False")
# Blind: plays the actions of a replay's episodes, in order, without looking at the observation.
COPYCAT = """\
PLAYBOOK = {playbook!r}


class Agent:
    episode = -1

    def reset(self, info):
        self.episode += 1
        self.moves = iter(PLAYBOOK[self.episode % len(PLAYBOOK)])

    def act(self, observation, info):
        return next(self.moves, 0)
"""


@pytest.fixture
def process_platform(platform, monkeypatch):
    """The platform on the process sandbox."""
    monkeypatch.setenv("RL_ARENA_SANDBOX", "process")
    get_settings.cache_clear()
    return get_settings()


def scored(tmp_path, name: str, source: str) -> Submission:
    """A CartPole version built, validated and scored as a worker does."""
    submission = intake.submit(write(tmp_path / f"{name}.py", source), env_id="CartPole-v1",
                               name=name, owner_email=OWNER, enqueue=False)
    builds.build_and_validate(submission.id, configured_runner())
    done = fetch(Submission, submission.id)
    assert done.status == SubmissionStatus.READY, (done.reason, done.log_tail)
    return done


def practice_mean(tmp_path, source: str) -> float:
    """The agent's mean return in `rl-arena play` (public seeds)."""
    from jobs.sandbox.factory import runner_for

    run = check_local_run("CartPole-v1", [str(write(tmp_path / "practice.py", source))])
    runner = runner_for("process")
    result = play_local_run(run, runner.prepare(run.bundles), sandbox=runner.kind)
    return result.summary()["mean_return"]


def test_memorising_the_public_seeds_gains_nothing(process_platform, tmp_path):
    assert practice_mean(tmp_path, MEMORISER) == 500.0  # it does know the public episodes

    memoriser = scored(tmp_path, "memoriser", MEMORISER)
    bad = scored(tmp_path, "left", ALWAYS_LEFT)

    assert bad.score_mean < 20
    assert memoriser.score_mean == bad.score_mean


def test_a_new_season_rescores_every_ready_version_on_new_seeds(process_platform, tmp_path):
    balance = scored(tmp_path, "balance", MEMORISER.replace("if not self.known", "if False"))
    first = validation_replay(balance.id)
    assert first.seed is None and all(g.seed is None for g in first.games)  # season 1 runs

    entry = actions.perform(audit.CLI, "new-season", "CartPole-v1")
    assert entry.outcome == "running"
    done = actions.run_long(entry.entry_id, configured_runner())
    assert done.outcome == "ok", done.detail
    assert "season 2" in done.detail and "rescored 1" in done.detail

    rescored = fetch(Submission, balance.id)
    assert rescored.validation_replay != balance.validation_replay
    assert rescored.score_mean == 500.0
    assert validation_replay(balance.id).seed is None  # season 2 runs: hidden again


def test_a_leaders_scoring_replay_shows_no_moves_to_copy(process_platform, tmp_path):
    """The season's episodes are fixed and deterministic: a blind copy of a leader's actions,
    episode by episode, scores as the leader does. So the running season's scoring replays show
    returns and steps, never the actions or observations."""
    leader = scored(tmp_path, "leader", BALANCER)
    view = validation_replay(leader.id)

    assert view.withheld
    assert [len(g.steps) for g in view.games] == [500] * CARTPOLE.episodes
    assert [g.returns for g in view.games] == [[500.0]] * CARTPOLE.episodes
    assert all(g.initial_state == [] and g.seed is None for g in view.games)
    assert {(s.action, tuple(s.state)) for g in view.games for s in g.steps} == {(None, ())}

    stored = load_replay(leader.validation_replay)  # what the page showed before
    playbook = [[step["action"] for step in game["steps"]] for game in stored["games"]]
    copycat = scored(tmp_path, "copycat", COPYCAT.format(playbook=playbook))
    assert copycat.score_mean == leader.score_mean == 500.0


SPY = """\
def act(observation, info):
    raise RuntimeError(f"SPY {observation.tolist()}")
"""


def test_what_an_agent_raises_in_a_secret_episode_is_withheld_but_a_start_failure_is_not(
        process_platform, tmp_path):
    """A spy version crashes with its first observation in the message: stored for the season's
    end, but neither its verdict nor the replay shows it. A failure to start still says why."""
    submission = intake.submit(write(tmp_path / "spy.py", SPY), env_id="CartPole-v1",
                               name="spy", owner_email=OWNER, enqueue=False)
    builds.build_and_validate(submission.id, configured_runner())
    spy = fetch(Submission, submission.id)

    assert spy.status == SubmissionStatus.FAILED
    assert spy.reason.startswith("validation episode 1: crash — what the agent raised or "
                                 "printed in a secret scoring episode is withheld")
    assert "rl-arena play CartPole-v1 AGENT" in spy.reason
    assert "SPY" not in spy.reason + (spy.log_tail or "")
    view = validation_replay(spy.id)
    assert [g.forfeit_reason for g in view.games] == ["crash"] * CARTPOLE.episodes
    assert all(g.forfeit_detail is None for g in view.games)
    stored = load_replay(spy.validation_replay)  # the channel was there: kept for later
    assert all("SPY [" in g["forfeit"]["detail"] for g in stored["games"])

    broken = intake.submit(write(tmp_path / "broken.py", "def act(:\n"), env_id="CartPole-v1",
                           name="broken", owner_email=OWNER, enqueue=False)
    builds.build_and_validate(broken.id, configured_runner())
    failed = fetch(Submission, broken.id)
    assert "SyntaxError" in failed.reason and "SyntaxError" in failed.log_tail
    assert "SyntaxError" in validation_replay(broken.id).games[0].forfeit_detail


def test_a_new_season_run_again_after_its_worker_died_starts_one_season(process_platform):
    entry = actions.perform(audit.CLI, "new-season", "CartPole-v1")
    assert start_new_season("CartPole-v1") == 2  # the first worker got this far, then died

    done = actions.run_long(entry.entry_id, configured_runner())  # the job, run again

    assert done.outcome == "ok" and "season 2 started" in done.detail, done.detail
    assert current_season("CartPole-v1") == 2
    again = actions.perform(audit.CLI, "new-season", "CartPole-v1")  # a new action: a new season
    assert "season 3 started" in actions.run_long(again.entry_id, configured_runner()).detail


def test_new_season_of_a_duel_env_fails_with_a_reason(process_platform):
    entry = actions.perform(audit.CLI, "new-season", "tictactoe")
    done = actions.run_long(entry.entry_id, configured_runner())
    assert done.outcome == "failed"
    assert "duel" in done.detail and "solo" in done.detail


def test_cli_new_season_starts_the_audited_action(process_platform):
    from click.testing import CliRunner

    from rl_arena_app.cli import main

    out = CliRunner().invoke(main, ["env", "new-season", "CartPole-v1"])
    assert out.exit_code == 0, out.output
    assert "audit entry" in out.output and "CartPole-v1" in out.output
    assert audit.page(action="new-season").entries[0].outcome == "running"
