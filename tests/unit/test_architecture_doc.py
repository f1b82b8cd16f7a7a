"""docs/ARCHITECTURE.md stays true: it lists every services module, and what it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
SERVICES = ROOT / "rl_arena_app" / "services"
FOLDERS = ("", "rl_arena_app", "rl_arena_app/services")  # where a path in the doc starts


def services_table(text: str) -> set[str]:
    """The modules in the first column of the doc's services table."""
    section = text.split("## services/ by aggregate", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_/]+)` \|", section, re.MULTILINE))


def services_modules() -> set[str]:
    """Every services module, as the doc names it (``submissions/intake``, ``catalog``)."""
    return {path.relative_to(SERVICES).with_suffix("").as_posix()
            for path in SERVICES.rglob("*.py") if path.name != "__init__.py"}


def named_paths(text: str) -> set[str]:
    """Paths the doc names in backticks: ``ui/me/upload.py``, ``arena/starters/``, ``jobs/``."""
    return {name.split(".")[0] if not name.endswith(".py") else name
            for name in re.findall(r"`([a-z_]+/[a-z_/.]*)`", text)}


def exists(name: str) -> bool:
    """Whether ``name`` is a file or folder of the repository, from one of FOLDERS."""
    name = name.rstrip("/")
    return any((ROOT / folder / candidate).exists() for folder in FOLDERS
               for candidate in (name, f"{name}.py"))


def test_the_services_table_lists_every_module_and_no_other() -> None:
    listed, actual = services_table(DOC.read_text()), services_modules()
    assert sorted(actual - listed) == [], "services modules the doc does not list"
    assert sorted(listed - actual) == [], "modules the doc lists that do not exist"


def test_every_path_the_doc_names_exists() -> None:
    missing = sorted(n for n in named_paths(DOC.read_text()) if not exists(n))
    assert missing == []


def test_the_checks_see_a_stale_doc() -> None:
    """A module missing from the table and a path that is gone are both caught."""
    text = DOC.read_text().replace("| `submissions/quotas` |", "| `submissions/limits` |")
    assert "submissions/limits" in services_table(text) - services_modules()
    assert not exists("services/leaderboard.py")
    assert exists("services/ratings/leaderboard.py") and exists("ui/components/")
