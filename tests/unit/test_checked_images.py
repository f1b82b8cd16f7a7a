"""A worker with warm sandboxes asks the engine about an agent's image only now and then."""

from __future__ import annotations

from jobs.sandbox.factory import CheckedImages
from rl_arena_app.settings import get_settings
from tests.support.agents import bundle_from_source


def test_an_image_is_checked_once_per_period_and_per_content():
    asked: list[str] = []

    def ensure(bundle) -> str:
        asked.append(bundle.ref)
        return f"tag-{bundle.digest[:8]}"

    settings = get_settings()
    one, other = bundle_from_source("A = 1\n", ref="one"), bundle_from_source("A = 2\n", ref="two")
    remembered = CheckedImages(recheck_s=3600)
    assert remembered.get(one, settings, ensure) == remembered.get(one, settings, ensure)
    remembered.get(other, settings, ensure)
    assert asked == ["one", "two"]
    always = CheckedImages(recheck_s=0)
    always.get(one, settings, ensure)
    always.get(one, settings, ensure)
    assert asked == ["one", "two", "one", "one"]
