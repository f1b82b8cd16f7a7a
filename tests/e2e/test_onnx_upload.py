"""ONNX policies from the browser, in Chromium against the real platform: a .onnx dropped on /me
is queued, built, validated and scored like any agent (its mean return on its card and the
leaderboard); one that does not fit the environment, or is no model, is refused on the page with
the reason, and nothing is stored."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.browser import TIMEOUT_MS, choose, dev_login
from tests.support.onnx_models import cartpole_policy

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.slow]

CARTPOLE = "CartPole-v1"
C4 = "connect_four"
FILE_INPUT = "#agent-upload input[type=file]"
READY_TIMEOUT_MS = 120_000
NOISE = random.Random(17).randbytes(4096)  # no protobuf, let alone a model


def _upload(page, env_id: str, name: str, file: Path, data: bytes) -> None:
    """Choose ``env_id``, name a new agent, drop ``data`` as ``file`` on the form and press
    Upload."""
    choose(page, "#upload-env", env_id)
    page.locator("#upload-name").fill(name)
    file.write_bytes(data)
    # From a path, as a person's file: Chromium gives a .onnx no type (a buffer would be typed
    # application/octet-stream by Playwright), so the drop zone can only let it in by its name.
    page.locator(FILE_INPUT).set_input_files(file)
    expect(page.locator(".selected-file")).to_have_text(file.name, timeout=TIMEOUT_MS)
    page.locator("#upload-button").click()


def _stat(scope, label: str):
    """The value of the stat labelled ``label`` inside ``scope``."""
    return scope.locator(f"xpath=.//*[normalize-space(text())='{label}']"
                         "/following-sibling::*[1]")


def _refused(page, name: str, *reasons: str) -> None:
    """The form says why, no agent ``name`` appears (not even after a reload), no page error."""
    error = page.locator("#upload-error")
    for reason in reasons:
        expect(error).to_contain_text(reason, timeout=TIMEOUT_MS)
    expect(page.locator("#upload-message")).to_have_count(0)
    page.reload()
    expect(page.locator("#my-agents")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator(".my-agent", has_text=name)).to_have_count(0)
    assert page.errors == []


def test_the_drop_zone_offers_onnx_files(arena, page):
    dev_login(page, arena, "onnx-picker@example.org")
    accept = page.locator(FILE_INPUT).get_attribute("accept") or ""
    assert ".onnx" in accept.split(","), accept  # what the browser's file chooser offers


def test_an_onnx_policy_dropped_on_me_is_built_and_scored(arena, page, tmp_path):
    dev_login(page, arena, "onnx-balancer@example.org")
    _upload(page, CARTPOLE, "onnx-balancer", tmp_path / "balancer.onnx", cartpole_policy())
    expect(page.locator("#upload-message")).to_contain_text("onnx-balancer v1 is queued",
                                                            timeout=TIMEOUT_MS)
    expect(page.locator("#upload-error")).to_have_count(0)
    card = page.locator(".my-agent", has_text="onnx-balancer")
    version = card.locator(".version-card")
    expect(version).to_contain_text("ready", timeout=READY_TIMEOUT_MS)
    expect(version.locator("code", has_text="balancer.onnx")).to_be_visible()  # uploaded as
    expect(_stat(version, "mean return")).to_have_text("500.00", timeout=READY_TIMEOUT_MS)
    expect(version.get_by_text("W/D/L", exact=True)).to_have_count(0)  # a solo task has no games
    expect(_stat(card, "rating")).to_have_text("500.00", timeout=TIMEOUT_MS)

    page.goto(f"{arena.url}/envs/{CARTPOLE}")
    page.locator("#search").fill("onnx-balancer")
    row = page.locator(".leaderboard-row", has_text="onnx-balancer")
    expect(row).to_have_count(1, timeout=TIMEOUT_MS)
    cells = row.locator("td")  # rank, agent, owner, v, algorithm, mean return, interval, episodes
    expect(cells.nth(1)).to_have_text("onnx-balancer")
    expect(cells.nth(5)).to_have_text("500.00")
    assert page.errors == []


def test_a_policy_that_does_not_fit_the_env_is_refused_with_the_reason(arena, page, tmp_path):
    dev_login(page, arena, "onnx-misfit@example.org")
    _upload(page, C4, "onnx-misfit", tmp_path / "balancer.onnx", cartpole_policy())
    _refused(page, "onnx-misfit", "policy.onnx does not fit connect_four",
             "input 'obs' has shape [1, 4]", "connect_four's observation [6, 7, 2]")


def test_an_onnx_file_that_is_no_model_is_refused(arena, page, tmp_path):
    dev_login(page, arena, "onnx-noise@example.org")
    _upload(page, CARTPOLE, "onnx-noise", tmp_path / "noise.onnx", NOISE)
    _refused(page, "onnx-noise", "policy.onnx is not a valid ONNX model")
