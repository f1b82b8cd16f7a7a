"""The environment catalog: every env with its matchmaking state, activity and leader."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from rl_arena_app.arena import env_docs, envs
from rl_arena_app.db.models import EnvState, Game, utcnow
from rl_arena_app.db.session import session_scope
from rl_arena_app.services.ratings.leaderboard import leaderboard_page
from rl_arena_app.services.read_models import EnvCard, EnvGuide, GuideRow, Leader


def matchmaking_state(kind: str, state: EnvState | None) -> str:
    """What the scheduler does with an env: running, paused, disabled, or nothing (solo)."""
    if state is not None and not state.enabled:
        return "disabled"
    if kind == "solo":
        return "scored at validation"
    return "paused" if state is not None and state.matchmaking_paused else "running"


def env_cards() -> list[EnvCard]:
    """Every registered environment, in id order."""
    return [env_card(spec.id) for spec in envs.list_envs()]


def env_card(env_id: str) -> EnvCard:
    """One environment's card (BadInput naming the known ones for an unknown id)."""
    spec = envs.spec(env_id)
    since = utcnow() - timedelta(hours=24)
    with session_scope() as session:
        state = session.get(EnvState, env_id)
        games = _count_games(env_id, session=session)
        recent = _count_games(env_id, Game.played_at >= since, session=session)
    board = leaderboard_page(env_id, limit=1)
    top = board.rows
    leader = Leader(agent_id=top[0].agent_id, name=top[0].name, score=top[0].score) if top else None
    return EnvCard(
        env_id=spec.id, kind=spec.kind, version=spec.version, description=spec.description,
        enabled=state is None or state.enabled,
        paused=state is not None and state.matchmaking_paused,
        matchmaking=matchmaking_state(spec.kind, state), tick=state.tick if state else 0,
        last_tick_at=state.last_tick_at if state else None,
        bt_refreshed_at=state.bt_refreshed_at if state else None, agents=board.total, games=games,
        games_24h=recent, leader=leader)


def _count_games(env_id: str, *where, session: Session) -> int:
    """Games played in the env (matching ``where``)."""
    return session.exec(select(func.count()).select_from(Game)
                        .where(Game.env_id == env_id, *where)).one()


def env_guide(env_id: str) -> EnvGuide:
    """How to write an agent for the env: observation, action, info, scoring, a starter."""
    spec = envs.spec(env_id)
    doc = env_docs.doc_of(spec)

    def rows(entries) -> list[GuideRow]:
        return [GuideRow(e.key, e.name, e.values, e.meaning) for e in entries]

    return EnvGuide(
        env_id=spec.id, kind=spec.kind, summary=doc.summary, contract=env_docs.CONTRACT,
        observation=doc.observation,
        observation_shape="(" + ", ".join(map(str, doc.observation_shape)) + ")",
        observation_dtype=doc.observation_dtype, components=rows(doc.components),
        action=doc.action, actions=rows(doc.actions), info=rows(doc.info), reward=doc.reward,
        episode_end=doc.episode_end, scoring=env_docs.scoring(spec),
        limits=rows(env_docs.limits(spec)), tips=list(doc.tips), starter_name="agent.py",
        starter_about=doc.starter_about, starter_source=env_docs.starter_source(spec),
        starter_command=env_docs.starter_command(spec), play_command=env_docs.play_command(spec),
        kaggle=env_docs.kaggle_section(spec), onnx=env_docs.onnx_section(spec))


def open_env_kinds() -> dict[str, str]:
    """The kind (duel or solo) of every environment that takes submissions now, by id, sorted."""
    with session_scope() as session:
        disabled = set(session.exec(select(EnvState.env_id)
                                    .where(EnvState.enabled.is_(False))).all())
    return {spec.id: spec.kind for spec in envs.list_envs() if spec.id not in disabled}
