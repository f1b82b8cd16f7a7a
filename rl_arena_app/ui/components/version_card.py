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
    algorithm: str
    description: str
    source_url: str
    source_href: str  # the source_url when it is http(s), so that a link is safe to follow
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
        image=v.image or "", artifact=v.artifact_name, algorithm=v.algorithm or "",
        description=v.description or "", source_url=v.source_url or "",
        source_href=v.source_url if _web_address(v.source_url) else "",
        validation_href=routes.validation(v.submission_id) if v.has_validation_replay else "",
        timeline=v.timeline)


def _web_address(url: str | None) -> bool:
    """Whether ``url`` is an http(s) address (stored ones are; a link is never anything else)."""
    return url is not None and url.lower().startswith(("http://", "https://"))


def _metadata(v: rx.Var[VersionCard]) -> rx.Component:
    """The algorithm, description and source the submitter gave, as text (a link when http)."""
    return rx.fragment(
        rx.cond(v.algorithm != "", rx.hstack(
            rx.text("algorithm", size="1", color_scheme="gray"),
            rx.badge(v.algorithm, variant="soft", class_name="version-algorithm"),
            spacing="2", align="center")),
        rx.cond(v.description != "", rx.text(v.description, size="2", white_space="pre-wrap",
                                              class_name="version-description")),
        rx.cond(v.source_url != "", rx.text(
            "source ",
            rx.cond(v.source_href != "",
                    rx.link(v.source_url, href=v.source_href, is_external=True,
                            rel="nofollow noopener noreferrer", class_name="version-source"),
                    rx.code(v.source_url)),
            size="2", color_scheme="gray", word_break="break-all")))


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
        _metadata(v),
        error_callout(v.reason, size="1"),
        rx.hstack(rx.cond(v.score != "", stat("mean return", v.score),  # solo: no games
                          rx.fragment(stat("Elo", v.elo), stat("games", v.games),
                                      stat("W/D/L", v.record), stat("Bradley-Terry 95%", v.bt))),
                  spacing="5", wrap="wrap"),
        rx.cond(v.log_tail != "", rx.el.details(
            rx.el.summary("log tail"),
            rx.code_block(v.log_tail, language="log", wrap_long_lines=True, width="100%"))),
        rx.cond(v.validation_href != "",
                rx.link("validation replay →", href=v.validation_href, size="2")),
        spacing="3", width="100%"), width="100%", class_name="version-card")
