"""Commands on a data dir whose database was never migrated (or was migrated by an older
version) say in one line what to run, and exit 3; no SQL traceback. SQLite always; PostgreSQL
when RL_ARENA_TEST_DATABASE_URL points at one (CI), in a schema of its own."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, make_url, text

from rl_arena_app.db.migrate import upgrade
from tests.support import processes

POSTGRES = os.environ.get("RL_ARENA_TEST_DATABASE_URL", "")
COMMANDS = [
    ["token", "create", "alice@example.org"],
    ["user", "admin", "grant", "alice@example.org"],
    ["agent", "list"],
    ["leaderboard", "tictactoe"],
    ["env", "disable", "tictactoe"],
    ["ratings", "rebuild", "tictactoe"],
]
ADVICE = "run `rl-arena db upgrade` (`make run` and `rl-arena up` migrate it too)"


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request, tmp_path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file in a new data dir, or a new PostgreSQL
    schema (its own search_path) in the test database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'arena.db'}"
        return
    if make_url(POSTGRES or "sqlite://").get_backend_name() != "postgresql":
        pytest.skip("PostgreSQL: set RL_ARENA_TEST_DATABASE_URL to a PostgreSQL database")
    schema = f"never_migrated_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES else "?"
    try:
        yield f"{POSTGRES}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def rl_arena(url: str, data_dir: str, *args: str) -> subprocess.CompletedProcess:
    """`rl-arena ARGS` as its own process, on the database at ``url``."""
    return processes.rl_arena(*args, timeout=120,
                              env={"RL_ARENA_DATA_DIR": data_dir, "RL_ARENA_DATABASE_URL": url})


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_command_on_a_never_migrated_database_says_what_to_run(fresh_database, tmp_path,
                                                                  command):
    done = rl_arena(fresh_database, str(tmp_path / "data"), *command)

    assert done.returncode == 3, (done.stdout, done.stderr)
    assert done.stdout == "" and "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("error: the database ") and "is not migrated" in line, line
    assert line.endswith(ADVICE)
    if fresh_database.startswith("postgresql"):  # the URL is shown without its password
        url = make_url(POSTGRES)
        assert f":{url.password}@" not in line and f"{url.username}:***@" in line


def test_a_database_an_older_version_migrated_says_what_to_run(fresh_database, tmp_path):
    upgrade(fresh_database, "0003")  # before tokens, accounts and retired agents

    listed = rl_arena(fresh_database, str(tmp_path / "data"), "agent", "list")
    granted = rl_arena(fresh_database, str(tmp_path / "data"), "user", "admin", "grant", "a@b.org")

    for done in (listed, granted):
        assert done.returncode == 3 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.strip().endswith(ADVICE)
    upgrade(fresh_database)
    assert rl_arena(fresh_database, str(tmp_path / "data"), "agent", "list").returncode == 0
