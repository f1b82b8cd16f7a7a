"""Agent containers the Docker tests look for after the fact."""

from __future__ import annotations


def orphans(engine) -> list[str]:
    """Agent containers whose owning process (on this host) is dead."""
    import socket

    from jobs.sandbox.docker import MANAGED_LABEL, OWNER_LABEL
    from rl_arena_app.processes import pid_alive

    found = []
    # The plain listing: no per-container inspect that races with concurrent removals.
    for container in engine.client.api.containers(all=True, filters={"label": MANAGED_LABEL}):
        host, _, pid = (container.get("Labels") or {}).get(OWNER_LABEL, ":").partition(":")
        if host == socket.gethostname() and pid.isdigit() and not pid_alive(int(pid)):
            found.append(container["Names"][0])
    return found
