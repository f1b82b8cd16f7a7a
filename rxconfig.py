"""Reflex configuration of the dashboard, built from the platform's Settings."""

import reflex as rx

from rl_arena_app.settings import get_settings

settings = get_settings()

config = rx.Config(
    app_name="rl_arena_app",
    # One port serves the pages, the websocket and the API: the browser's URL is the backend's.
    api_url=settings.web_url,
    deploy_url=settings.web_url,
    frontend_port=settings.web_port,
    backend_port=settings.web_port,
    # Only the dashboard's own pages (and RL_ARENA_ALLOWED_ORIGINS) may open its websocket: the
    # socket.io server answers other Origins 400 before the upgrade, so a page of another site
    # cannot act with the session cookie the browser sends along. The same list is the CORS of
    # the HTTP routes.
    cors_allowed_origins=list(settings.browser_origins),
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # Tab state in Redis whenever the platform has one (compose, `rl-arena up`'s embedded one):
    # any web replica can then serve any tab, and a tab outlives its replica's restart.
    state_manager_mode="redis" if settings.redis_url else "memory",
    redis_url=settings.redis_url,
    default_color_mode="system",
    plugins=[rx.plugins.SitemapPlugin(), rx.plugins.RadixThemesPlugin()],
)
