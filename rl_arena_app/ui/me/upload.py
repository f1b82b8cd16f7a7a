"""`/me`'s upload form: a file for a new agent or a new version of one of mine, and my quotas."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import reflex as rx

from rl_arena_app.errors import BadInput, InfrastructureError
from rl_arena_app.services.catalog import open_env_kinds
from rl_arena_app.services.environments import env_ids
from rl_arena_app.services.read_models import Account, Quota
from rl_arena_app.services.submissions.agents import my_agents
from rl_arena_app.services.submissions.intake import (
    MAX_ALGORITHM,
    MAX_DESCRIPTION,
    MAX_SOURCE_URL,
    Metadata,
    submit_upload,
)
from rl_arena_app.services.submissions.quotas import quotas
from rl_arena_app.settings import get_settings
from rl_arena_app.ui import format
from rl_arena_app.ui.cache import load
from rl_arena_app.ui.components.common import error_callout
from rl_arena_app.ui.me.account import MyAccount
from rl_arena_app.ui.uploads import UPLOAD_ID, rejection_messages

NEW_AGENT = "__new__"
# ONNX has no registered media type and browsers give .onnx files none: the extension decides
# (application/octet-stream here would let any untyped file through the picker).
ACCEPTED = {"text/x-python": [".py"], "application/x-onnx": [".onnx"],
            "application/zip": [".zip"],
            "application/gzip": [".tar.gz", ".tgz"], "application/x-tar": [".tar"]}


@dataclass(frozen=True, slots=True)
class UploadChoices:
    """What the form offers: the open environments, my agents in each, my quotas."""

    envs: list[str]
    names_by_env: dict[str, list[str]]
    daily: str  # "3 of 20 submissions today in tictactoe"
    active: str  # "2 of 10 active agents"


def _quota_line(quota: Quota, what: str) -> str:
    line = f"{quota.used} of {quota.limit} {what}"
    return line if quota.resets_at is None else f"{line} (resets {format.iso(quota.resets_at)})"


def upload_choices(account: Account, env_id: str) -> UploadChoices:
    """What the form offers ``account`` uploading to ``env_id`` (blocking: call it in a thread)."""
    kinds = open_env_kinds()
    daily, active = quotas(account, env_id) if env_id in kinds else (None, None)
    names: dict[str, list[str]] = {env: [] for env in kinds}
    for agent in my_agents(account):
        if agent.env_id in names:
            names[agent.env_id].append(agent.name)
    return UploadChoices(
        envs=list(kinds), names_by_env=names,
        daily=_quota_line(daily, f"submissions today in {env_id}") if daily else "",
        active=_quota_line(active, "active agents") if active else "")


class UploadState(MyAccount):
    """The form: where to, which agent, the file's progress and what became of it."""

    env_id: str = ""
    agent_choice: str = NEW_AGENT
    new_name: str = ""
    algorithm: str = ""
    description: str = ""
    source_url: str = ""
    progress: int = 0
    uploading: bool = False
    upload_message: str = ""
    upload_error: str = ""
    max_upload_mb: int = 50

    def _open(self) -> None:
        """The page opened: a fresh form (keeping the environment last chosen)."""
        self.max_upload_mb = get_settings().max_upload_mb
        self.upload_message = self.upload_error = ""
        if not self.env_id:
            self.env_id = next(iter(env_ids()), "")

    @rx.var
    async def choices(self) -> UploadChoices | None:
        """The form's environments, agents and quotas (live), while the session lasts."""
        if not self._here():
            return None
        account = await self._signed_in()
        if account is None:
            return None
        return await load(upload_choices, account, self.env_id,
                          version=(await self._live_version(), self._changes))

    @rx.event
    def set_env(self, env_id: str):
        """Upload to this environment."""
        self.env_id = env_id
        self.agent_choice = NEW_AGENT

    @rx.event
    def set_agent_choice(self, choice: str):
        """A new agent, or a new version of one of mine."""
        self.agent_choice = choice

    @rx.event
    def set_new_name(self, name: str):
        self.new_name = name

    @rx.event
    def set_algorithm(self, text: str):
        self.algorithm = text

    @rx.event
    def set_description(self, text: str):
        self.description = text

    @rx.event
    def set_source_url(self, text: str):
        self.source_url = text

    @rx.event
    def set_progress(self, progress: dict):
        """The browser's upload progress (0..1); the last report may come after the upload."""
        fraction = float(progress.get("progress") or 0)
        self.uploading = fraction < 1
        self.progress = round(fraction * 100)

    @rx.event
    def upload_rejected(self, messages: list[str]):
        """The browser refused the file (too large, wrong type): nothing was sent."""
        self.upload_message = ""
        self.upload_error = "; ".join(messages)[:500] or "that file cannot be uploaded"

    @rx.event
    async def upload(self, files: list[rx.UploadFile]):
        """Submit the chosen file as a new agent or a new version of one of mine."""
        self.uploading, self.progress = False, 0
        if not files:
            self.upload_error = "Choose a file first: drop it on the box or click the box."
            return None
        self.upload_message = self.upload_error = ""
        account = await self._account()
        if account is None:
            self.upload_error = "Your session has ended: log in again, then upload."
            return None
        name = self.new_name.strip() if self.agent_choice == NEW_AGENT else self.agent_choice
        try:
            message = await self._submit(account, name, files[0])
        except BadInput as exc:
            self.upload_error = str(exc)
        except InfrastructureError:
            self.upload_error = ("The arena cannot queue builds right now (nothing was "
                                 "stored): try again in a minute.")
        else:
            self.upload_message = message
            self.new_name, self.agent_choice = "", name
            self.algorithm = self.description = self.source_url = ""
            self._changed()
            await self._follow(account)
        return rx.clear_selected_files(UPLOAD_ID)

    async def _submit(self, account: Account, name: str, upload: rx.UploadFile) -> str:
        """Store and queue the file; what the page says of it."""
        data = await upload.read()
        submission = await asyncio.to_thread(
            submit_upload, account, env_id=self.env_id, name=name,
            filename=upload.name or "agent.py", data=data,
            metadata=Metadata(self.algorithm, self.description, self.source_url))
        return (f"{name} v{submission.version} is queued: it is built, then plays its "
                "validation games; this page follows it live.")


def _field(label: str, control: rx.Component) -> rx.Component:
    return rx.vstack(rx.text(label, size="2", weight="medium"), control, spacing="1")


def _targets(choices) -> rx.Component:
    """Which environment, which agent (a new one: its name)."""
    s = UploadState
    names = choices.names_by_env[s.env_id]
    return rx.flex(
        _field("Environment", rx.select(choices.envs, value=s.env_id, on_change=s.set_env,
                                        id="upload-env")),
        _field("Agent", rx.select.root(
            rx.select.trigger(id="upload-agent"),
            rx.select.content(
                rx.select.item("New agent…", value=NEW_AGENT),
                rx.foreach(names, lambda n: rx.select.item("new version of ", n, value=n))),
            value=s.agent_choice, on_change=s.set_agent_choice)),
        rx.cond(s.agent_choice == NEW_AGENT, _field("Name", rx.input(
            value=s.new_name, on_change=s.set_new_name, placeholder="letters, digits, . _ -",
            max_length=64, id="upload-name"))),
        spacing="4", wrap="wrap")


def _metadata() -> rx.Component:
    """What the submitter says of the version, all optional (checked when it is uploaded)."""
    s = UploadState
    return rx.el.details(
        rx.el.summary(rx.text("Algorithm, description and source (optional)", size="2",
                              as_="span")),
        rx.vstack(
            rx.flex(
                _field("Algorithm", rx.input(
                    value=s.algorithm, on_change=s.set_algorithm, placeholder="e.g. PPO",
                    max_length=MAX_ALGORITHM, id="upload-algorithm")),
                _field("Source", rx.input(
                    value=s.source_url, on_change=s.set_source_url, type="url",
                    placeholder="https://github.com/you/your-agent", max_length=MAX_SOURCE_URL,
                    width="24em", id="upload-source-url")),
                spacing="4", wrap="wrap"),
            _field("Description", rx.text_area(
                value=s.description, on_change=s.set_description, rows="3", width="100%",
                placeholder="How it was trained, what it does (plain text)",
                max_length=MAX_DESCRIPTION, id="upload-description")),
            spacing="3", width="100%", padding_top="0.5em"),
        id="upload-metadata", width="100%")


def _drop_zone() -> rx.Component:
    s = UploadState
    return rx.upload.root(
        rx.vstack(rx.icon("upload", size=28, color="var(--gray-10)"),
                  rx.text("Drop the file here, or click to choose it", size="2"),
                  rx.text(".py, .onnx, .zip, .tar.gz · up to ", s.max_upload_mb, " MiB",
                          size="1", color_scheme="gray"),
                  rx.foreach(rx.selected_files(UPLOAD_ID), lambda name: rx.badge(
                      name, size="2", class_name="selected-file")),
                  align="center", spacing="1"),
        id=UPLOAD_ID, multiple=False, max_files=1, max_size=s.max_upload_mb * 1024 * 1024,
        accept=ACCEPTED, disabled=s.uploading,
        on_drop_rejected=lambda rejected: s.upload_rejected(rejection_messages(rejected)),
        border="2px dashed var(--gray-a7)", border_radius="var(--radius-3)",
        padding="1.5em", width="100%", cursor="pointer")


def upload_card() -> rx.Component:
    """The form, its progress and outcome, and my quotas."""
    s = UploadState
    choices = s.choices
    return rx.cond(choices, rx.card(rx.vstack(
        rx.heading("Upload an agent", size="4"),
        rx.text("A ", rx.code("agent.py"), " with ", rx.code("act(observation, info)"),
                ", or a Kaggle agent (a .py, or an archive with ", rx.code("main.py"),
                "), or a .zip / .tar.gz with it (and a requirements.txt), or a trained "
                "policy as ", rx.code("policy.onnx"), ". See each environment's page for its "
                "observation, actions and a starter agent.",
                size="2", color_scheme="gray"),
        _targets(choices),
        _metadata(),
        _drop_zone(),
        rx.button(rx.icon("upload", size=16), "Upload", id="upload-button", size="3",
                  loading=s.uploading,
                  disabled=rx.selected_files(UPLOAD_ID).length() == 0,
                  on_click=s.upload(rx.upload_files(
                      upload_id=UPLOAD_ID, on_upload_progress=s.set_progress))),
        rx.cond(s.uploading, rx.progress(value=s.progress, width="100%",
                                         id="upload-progress")),
        error_callout(s.upload_error, id="upload-error"),
        rx.cond(s.upload_message != "",
                rx.callout(s.upload_message, icon="circle-check", color_scheme="green",
                           width="100%", id="upload-message")),
        rx.hstack(rx.text(choices.daily, size="1", color_scheme="gray", id="quota-daily"),
                  rx.text(choices.active, size="1", color_scheme="gray", id="quota-active"),
                  spacing="4", wrap="wrap"),
        spacing="3", width="100%"), width="100%", id="upload-card"))
