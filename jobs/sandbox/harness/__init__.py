"""The harness that runs inside every sandbox (standard library and numpy only)."""

from pathlib import Path

from rl_arena_app.arena import protocol

HARNESS_DIR = Path(__file__).parent


def harness_files() -> dict[str, bytes]:
    """The files a sandbox needs next to each other: the harness and the wire protocol."""
    return {
        "harness.py": (HARNESS_DIR / "harness.py").read_bytes(),
        "protocol.py": Path(protocol.__file__).read_bytes(),
    }
