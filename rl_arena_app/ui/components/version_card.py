"""A version of an agent as a card: status, timeline, rating, why it failed, its log's tail."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from rl_arena_app.services.read_models import StatusChange, VersionView
from rl_arena_app.ui import format, routes
from rl_arena_app.ui.components.common import ago, error_callout, stat, status_badge


@dataclass(frozen=True, slots=True)
class VersionCard:
    """A version as shown."""

    version: int
    submission_id: int
    status: str
    created: str
    reason: str
    log_tail: str
    elo: str
    games: int
    record: str
    score: str
    bt: str
    image: str
    artifact: str
    validation_href: str
    timeline: list[StatusChange]


def to_version_card(v: VersionView, kind: str) -> VersionCard:
    """What the card shows of a version of an agent of an environment of ``kind``."""
    return VersionCard(
        version=v.version, submission_id=v.submission_id, status=v.status,
        created=format.iso(v.created_at), reason=v.reason or "", log_tail=v.log_tail or "",
        elo=format.rating(v.elo), games=v.games, record=f"{v.wins}/{v.draws}/{v.losses}",
        score=format.decimal(v.score_mean, 2) if kind == "solo" else "",
        bt=format.interval(v.bt_low, v.bt_high) if v.bt_rating is not None else format.DASH,
        image=v.image or "", artifact=v.artifact_name,
        validation_href=routes.validation(v.submission_id) if v.has_validation_replay else "",
        timeline=v.timeline)


def version_card(v: rx.Var[VersionCard]) -> rx.Component:
    """The card of a version."""
    return rx.card(rx.vstack(
        rx.hstack(rx.heading("v", v.version, size="4"), status_badge(v.status),
                  rx.text("uploaded as ", rx.code(v.artifact), size="1", color_scheme="gray"),
                  rx.spacer(), rx.text(ago(v.created), size="1", color_scheme="gray"),
                  align="center", width="100%", wrap="wrap"),
        rx.hstack(rx.foreach(v.timeline, lambda s: rx.hstack(
            status_badge(s.status), rx.text(rx.moment(s.at, format="HH:mm:ss"), size="1",
                                            color_scheme="gray"),
            spacing="1", align="center")),
            spacing="3", wrap="wrap", class_name="timeline"),
        error_callout(v.reason, size="1"),
        rx.hstack(stat("Elo", v.elo), stat("games", v.games), stat("W/D/L", v.record),
                  stat("Bradley-Terry 95%", v.bt), rx.cond(v.score != "", stat("mean return",
                                                                              v.score)),
                  spacing="5", wrap="wrap"),
        rx.cond(v.log_tail != "", rx.el.details(
            rx.el.summary("log tail"),
            rx.code_block(v.log_tail, language="log", wrap_long_lines=True, width="100%"))),
        rx.cond(v.validation_href != "",
                rx.link("validation replay →", href=v.validation_href, size="2")),
        spacing="3", width="100%"), width="100%", class_name="version-card")
