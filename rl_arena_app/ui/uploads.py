"""Uploads from the dashboard: the drop zone's id and the browser's refusals as plain text."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ArrayVar, ObjectVar

UPLOAD_ID = "agent-upload"


def rejection_messages(rejected: rx.Var) -> rx.Var:
    """The browser's reasons for refusing files, as strings.

    Passing react-dropzone's rejections as they are would send the refused files themselves
    over the websocket.
    """
    return rejected.to(ArrayVar).map(
        lambda r: r.to(ObjectVar)["errors"].to(ArrayVar)
        .map(lambda e: e.to(ObjectVar)["message"]).join(", "))

