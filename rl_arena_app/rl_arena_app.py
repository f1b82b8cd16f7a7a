"""The dashboard: the Reflex app, its pages and routes, and the live-event listener."""

from __future__ import annotations

import reflex as rx

from rl_arena_app.api.app import create_api, limit_dashboard_uploads, limit_logins
from rl_arena_app.api.metrics import count_requests
from rl_arena_app.api.request_id import RequestId
from rl_arena_app.auth.login import create_login_app
from rl_arena_app.logs import keep_credentials_out_of_logs
from rl_arena_app.ui import layout, routes, theme
from rl_arena_app.ui.live import follow_arena
from rl_arena_app.ui.pages import (
    admin,
    agent,
    env,
    login,
    match,
    matches,
    me,
    overview,
    status,
    validation,
)
from rl_arena_app.ui.session import Session

keep_credentials_out_of_logs()  # Reflex logs a failed event with its headers, Cookie included
app = rx.App(theme=theme.THEME, style=theme.STYLE,
             # Applied in order: each later one wraps what came before (RequestId outermost).
             api_transformer=[create_api(), create_login_app(), limit_logins,
                              limit_dashboard_uploads, count_requests, RequestId],
             head_components=[rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml")])
PAGES = (
    (overview, routes.OVERVIEW, "RL Arena", overview.OverviewState.open),
    (env, routes.ENV, "Leaderboard", env.EnvState.open),
    (agent, routes.AGENT, "Agent", agent.AgentState.open),
    (matches, routes.MATCHES, "Matches", matches.MatchesState.open),
    (match, routes.MATCH, "Match", match.MatchState.open),
    (validation, routes.VALIDATION, "Validation", validation.ValidationState.open),
    (status, routes.STATUS, "Status", status.StatusState.open),
    (login, routes.LOGIN, "Log in", login.LoginState.open),
    (me, routes.ME, "My agents", me.MeState.open),
    (admin, routes.ADMIN, "Admin", admin.AdminState.open),
)
for module, route, title, on_load in PAGES:
    app.add_page(layout.page_frame(module.body), route=route,
                 title=title if route == routes.OVERVIEW else f"{title} · RL Arena",
                 on_load=[Session.refresh, on_load])
app.register_lifespan_task(follow_arena)
