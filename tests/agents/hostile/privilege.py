"""Attacks privileges: setuid, shadow, mount, chroot, /proc/sys, cgroups, docker.sock, suid."""

import os
import random
import socket
import subprocess

import numpy as np


def _escape(what):
    raise RuntimeError(f"ESCAPE: {what}")


def _refused(what, call, *args):
    try:
        call(*args)
    except OSError:
        return
    _escape(what)


def _open(path, mode="r"):
    with open(path, mode):
        pass


def _status():
    with open("/proc/self/status") as fh:
        return dict(line.rstrip("\n").split(":\t", 1) for line in fh if ":\t" in line)


def _run(*command):
    return subprocess.run(command, capture_output=True, timeout=5).returncode


def probe():
    if (os.getuid(), os.geteuid(), os.getgid()) != (65534, 65534, 65534):
        _escape(f"running as uid {os.getuid()}, gid {os.getgid()}")
    _refused("setuid(0)", os.setuid, 0)
    _refused("setgid(0)", os.setgid, 0)
    _refused("setgroups([0])", os.setgroups, [0])
    _refused("read /etc/shadow", _open, "/etc/shadow")
    _refused("chroot", os.chroot, "/tmp")
    for path in ("/proc/sys/kernel/hostname", "/proc/sysrq-trigger",
                 "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max",
                 "/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/pids.max"):
        _refused(f"open {path} for writing", _open, path, "a")
    for path in ("/var/run/docker.sock", "/run/docker.sock"):
        if os.path.exists(path):
            _escape(f"{path} is in the container")
        with socket.socket(socket.AF_UNIX) as sock:
            _refused(f"connect {path}", sock.connect, path)
    os.mkdir("/tmp/mnt")
    if _run("mount", "-t", "tmpfs", "none", "/tmp/mnt") == 0:
        _escape("mount -t tmpfs succeeded")
    if _run("unshare", "--user", "--map-root-user", "true") == 0:
        _escape("unshare created a user namespace")
    status = _status()
    if status["NoNewPrivs"].strip() != "1":
        _escape("no-new-privileges is off")
    for caps in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        if int(status[caps], 16):
            _escape(f"{caps} = {status[caps]}")
    # A setuid bit can be set on one's own file, but /tmp must ignore it.
    with open("/tmp/suid", "w") as fh:
        fh.write("#!/bin/sh\nid -u\n")
    os.chmod("/tmp/suid", 0o4755)
    if not os.statvfs("/tmp").f_flag & os.ST_NOSUID:
        _escape("/tmp is not mounted nosuid")


probe()


def act(observation, info):
    return random.choice(np.flatnonzero(info["action_mask"]).tolist())
