"""Process sandboxes made for a run and kept, to check afterwards that none left anything."""

from __future__ import annotations

from collections.abc import Callable

from jobs.sandbox.process import ProcessSandbox, processes_of
from rl_arena_app.arena.bundle import AgentBundle


class KeptSandboxes:
    """Makes the process sandboxes of a run and keeps every one."""

    def __init__(self) -> None:
        self.sandboxes: list[ProcessSandbox] = []

    def _factory(self, bundle: AgentBundle) -> Callable[[], ProcessSandbox]:
        def make() -> ProcessSandbox:
            self.sandboxes.append(ProcessSandbox(bundle))
            return self.sandboxes[-1]

        return make

    def assert_cleaned_up(self) -> None:
        """No sandbox left its private folder or an agent process behind."""
        for sandbox in self.sandboxes:
            assert sandbox.directory is not None and not sandbox.directory.exists()
            if sandbox.uid is not None:
                assert processes_of(sandbox.uid) == [], f"processes of uid {sandbox.uid} left"
