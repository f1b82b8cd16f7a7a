"""The harness that runs inside every sandbox (standard library and numpy; onnxruntime for
ONNX policies)."""

from pathlib import Path

from rl_arena_app.arena import onnx_policy, protocol

HARNESS_DIR = Path(__file__).parent


def harness_files() -> dict[str, bytes]:
    """The files a sandbox needs next to each other: the harness, its Kaggle-format adapter, its
    ONNX policy runner and fitting rules, its fork server (warm sandboxes) and the wire
    protocol."""
    return {
        "harness.py": (HARNESS_DIR / "harness.py").read_bytes(),
        "kaggle.py": (HARNESS_DIR / "kaggle.py").read_bytes(),
        "onnx_policy.py": Path(onnx_policy.__file__).read_bytes(),
        "onnx_runner.py": (HARNESS_DIR / "onnx_runner.py").read_bytes(),
        "forkserver.py": (HARNESS_DIR / "forkserver.py").read_bytes(),
        "protocol.py": Path(protocol.__file__).read_bytes(),
    }
