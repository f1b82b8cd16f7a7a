"""The test database: the shared one CI names, and scratch databases beside it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from rl_arena_app.db.session import engine_for

# CI points this at PostgreSQL; locally the tests use a fresh SQLite file per test.
TEST_DATABASE_URL = os.environ.get("RL_ARENA_TEST_DATABASE_URL")
SCRATCH_SUFFIX = "_migrations"


def postgres_scratch_url() -> Iterator[str]:
    """A fresh, empty scratch database on the test PostgreSQL server; dropped afterwards."""
    if not TEST_DATABASE_URL:
        if os.environ.get("CI"):
            pytest.fail("CI is set but RL_ARENA_TEST_DATABASE_URL is not: the PostgreSQL "
                        "migration tests must run in CI (.ci/run provisions the server)")
        pytest.skip("RL_ARENA_TEST_DATABASE_URL is unset (CI sets it to a PostgreSQL "
                    "database): PostgreSQL migration tests not run locally")
    base = make_url(TEST_DATABASE_URL)
    if base.get_backend_name() != "postgresql":
        pytest.fail(f"RL_ARENA_TEST_DATABASE_URL must point at PostgreSQL, got {base.drivername}")
    name = f"{base.database}{SCRATCH_SUFFIX}"
    admin = engine_for(TEST_DATABASE_URL).execution_options(isolation_level="AUTOCOMMIT")

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    drop()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        engine_for(url).dispose()
        drop()
