"""Attacks network isolation: TCP, UDP and DNS out of the container; then plays legally."""

import errno
import random
import socket

import numpy as np

DNS_QUERY = bytes.fromhex("1234010000010000000000000470797069036f72670000010001")  # pypi.org A


def _escape(what):
    raise RuntimeError(f"ESCAPE: {what}")


def _tcp(host, port, contained_errnos):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect((host, port))
        except OSError as exc:
            if exc.errno not in contained_errnos:  # refused or timed out: a route exists
                _escape(f"TCP {host}:{port} is routable ({exc!r})")
            return
    _escape(f"TCP connect to {host}:{port} succeeded")


def probe():
    interfaces = sorted(name for _, name in socket.if_nameindex())
    if interfaces != ["lo"]:
        _escape(f"network interfaces {interfaces}")
    for host, port in [("1.1.1.1", 53), ("8.8.8.8", 443), ("172.17.0.1", 2375),
                       ("172.17.0.1", 53)]:
        _tcp(host, port, {errno.ENETUNREACH})
    _tcp("2606:4700:4700::1111", 53, {errno.ENETUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT})
    # Loopback is the container's own: nothing of the host's may listen there.
    for port in (53, 80, 2375, 2376, 5432, 6379, 8000):
        _tcp("127.0.0.1", port, {errno.ECONNREFUSED})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        for server in ("1.1.1.1", "8.8.8.8", "172.17.0.1"):
            try:
                sock.sendto(DNS_QUERY, (server, 53))
            except OSError as exc:
                if exc.errno != errno.ENETUNREACH:
                    raise
            else:
                _escape(f"UDP datagram to {server}:53 was sent")
    try:
        addresses = socket.getaddrinfo("pypi.org", 443)
    except socket.gaierror:
        return
    _escape(f"DNS resolved pypi.org to {addresses[:1]}")


probe()


def act(observation, info):
    return random.choice(np.flatnonzero(info["action_mask"]).tolist())
