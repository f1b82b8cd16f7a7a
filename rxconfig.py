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
    telemetry_enabled=False,
    show_built_with_reflex=False,
    state_manager_mode="memory",
    default_color_mode="system",
    plugins=[rx.plugins.SitemapPlugin(), rx.plugins.RadixThemesPlugin()],
)
