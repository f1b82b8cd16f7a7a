"""Attacks the read-only filesystem and the 64 MB /tmp cap; then plays legally."""

import errno
import os
import random

import numpy as np

OUTSIDE_TMP = ["/", "/agent", "/etc", "/run/arena", "/opt/rl-arena", "/home", "/root", "/var/tmp",
               "/usr/lib", "/dev", "/dev/shm"]


def _escape(what):
    raise RuntimeError(f"ESCAPE: {what}")


def probe():
    for folder in OUTSIDE_TMP:
        path = os.path.join(folder, "hostile-was-here")
        try:
            with open(path, "w") as fh:
                fh.write("x")
        except OSError as exc:
            if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOENT):
                raise
        else:
            _escape(f"wrote {path}")
    for victim in ("/agent/agent.py", "/opt/rl-arena/harness.py", "/run/arena/agent.sock"):
        try:
            os.unlink(victim)
        except OSError:
            pass
        else:
            _escape(f"deleted {victim}")
    # /tmp is writable, but only up to its size: 80 MB must not fit.
    path = "/tmp/fill"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    chunk = b"\0" * (1 << 20)
    written = 0
    try:
        while written < 80 << 20:
            written += os.write(fd, chunk)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        if written < 8 << 20:
            _escape(f"/tmp unexpectedly small: full after {written} bytes")
    else:
        _escape(f"wrote {written >> 20} MB to /tmp, past its 64 MB cap")
    finally:
        os.close(fd)
        os.unlink(path)


probe()


def act(observation, info):
    return random.choice(np.flatnonzero(info["action_mask"]).tolist())
