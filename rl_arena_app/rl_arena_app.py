"""The dashboard: the Reflex app, its pages and routes, and the live-event listener."""

from __future__ import annotations

import reflex as rx

from rl_arena_app.api.app import create_api
from rl_arena_app.ui import layout, routes, theme
from rl_arena_app.ui.live import follow_arena
from rl_arena_app.ui.pages import agent, env, match, matches, overview, status, validation

app = rx.App(theme=theme.THEME, style=theme.STYLE, api_transformer=create_api(),
             head_components=[rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml")])
PAGES = (
    (overview, routes.OVERVIEW, "RL Arena", overview.OverviewState.open),
    (env, routes.ENV, "Leaderboard", env.EnvState.open),
    (agent, routes.AGENT, "Agent", agent.AgentState.open),
    (matches, routes.MATCHES, "Matches", matches.MatchesState.open),
    (match, routes.MATCH, "Match", match.MatchState.open),
    (validation, routes.VALIDATION, "Validation", validation.ValidationState.open),
    (status, routes.STATUS, "Status", status.StatusState.open),
)
for module, route, title, on_load in PAGES:
    app.add_page(layout.page_frame(module.body), route=route,
                 title=title if route == routes.OVERVIEW else f"{title} · RL Arena",
                 on_load=on_load)
app.register_lifespan_task(follow_arena)
