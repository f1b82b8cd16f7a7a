"""The web process's live listener outlives a failed read: an outage pauses updates, never ends
them."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from sqlalchemy.exc import OperationalError

from rl_arena_app.ui import live


def test_a_failed_health_check_is_logged_and_retried(monkeypatch, caplog):
    calls: list[int] = []

    def current_health() -> live.Health:
        calls.append(1)
        if len(calls) == 1:  # the database was down for the first check
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        return live.Health(redis="ok", workers_alive=len(calls))

    monkeypatch.setattr(live, "current_health", current_health)
    monkeypatch.setattr(live, "HEALTH_EVERY_S", 0.01)
    monkeypatch.setattr(live.BOARD, "health", live.Health())

    async def run() -> None:
        serving_nobody = SimpleNamespace(event_namespace=None)
        relay = asyncio.create_task(live._relay(serving_nobody, asyncio.Queue()))
        for _ in range(400):
            await asyncio.sleep(0.01)
            if len(calls) >= 3 or relay.done():
                break
        assert not relay.done(), "the listener ended"
        relay.cancel()
        with pytest.raises(asyncio.CancelledError):
            await relay

    asyncio.run(run())
    assert len(calls) >= 3 and live.BOARD.health.redis == "ok"
    assert "live update failed" in caplog.text
