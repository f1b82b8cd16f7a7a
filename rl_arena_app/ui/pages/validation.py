"""`/submissions/{submission_id}/validation`: the games or episodes that validated a version."""

from __future__ import annotations

import reflex as rx

from rl_arena_app.services.ids import parse_id
from rl_arena_app.services.matches.replays import validation_replay
from rl_arena_app.ui import routes
from rl_arena_app.ui.cache import load_or_none
from rl_arena_app.ui.components.common import detail_frame, section
from rl_arena_app.ui.components.replay import ReplayState, viewer
from rl_arena_app.ui.pages.base import PageState


class ValidationState(PageState):
    """Which submission's validation the viewer shows."""

    ROUTE = routes.VALIDATION
    missing: str = ""
    title: str = ""
    agent_href: str = ""

    @rx.event
    async def open(self):
        """A browser opened the page: point the viewer at the validation replay."""
        self.missing = ""
        submission_id = parse_id(self.submission_id)
        replay = None if submission_id is None else \
            await load_or_none(validation_replay, submission_id)
        if replay is None:
            self.missing = (f"Submission {self.submission_id!r} has no validation replay: "
                            "a version gets one when it has been validated.")
        else:
            self.title = f"Validation of {replay.agents[0]} in {replay.env_id}"
        viewer_state = await self.get_state(ReplayState)
        viewer_state.show("" if self.missing else f"validation:{self.submission_id}")
        await self._show()


def body() -> rx.Component:
    return detail_frame("Validation replay", ValidationState.missing, rx.vstack(
        rx.link("← Arena", href=routes.OVERVIEW, color_scheme="gray"),
        rx.heading(ValidationState.title, size="7", id="validation-title"),
        rx.text("Every new version plays these games (against builtin:random) or "
                "episodes (on the season's secret scoring seeds) before it is ranked.",
                color_scheme="gray"),
        section("Replay", viewer()),
        spacing="4", width="100%"))
