"""Redis URLs are shown (status, messages) without their password."""

from __future__ import annotations

import pytest

from rl_arena_app.broker import get_redis, shown_url
from rl_arena_app.errors import InfrastructureError
from rl_arena_app.settings import Settings


@pytest.mark.parametrize(("url", "shown"), [
    ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
    ("rediss://arena:s3cret@cache/1", "rediss://arena:***@cache/1"),
    ("redis://cache:6379/0", "redis://cache:6379/0"),
    ("unix:///tmp/rl-arena-redis.sock", "unix:///tmp/rl-arena-redis.sock"),
])
def test_a_password_is_masked(url, shown):
    assert shown_url(url) == shown


def test_an_unreachable_redis_is_named_without_its_password(tmp_path):
    settings = Settings(redis_url=f"unix://:s3cret@{tmp_path}/nothing.sock", data_dir=tmp_path)
    with pytest.raises(InfrastructureError) as refused:
        get_redis(settings)
    assert "s3cret" not in str(refused.value) and "***" in str(refused.value)
