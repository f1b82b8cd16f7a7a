"""A real S3-compatible server on localhost: moto's standalone server (``moto_server``, a dev
dependency) in a subprocess, one bucket in it, and what a platform needs to use it."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx

from tests.support.waiting import wait_for

MOTO_SERVER = Path(sys.executable).with_name("moto_server")
BUCKET = "rl-arena"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    """A running S3 server: its HTTP endpoint and the bucket made for the tests."""

    endpoint: str

    def environment(self, prefix: str) -> dict[str, str]:
        """The variables of a platform storing under ``prefix`` of the bucket: the storage URL,
        credentials (any: moto checks none) and the plain-http endpoint, as operators set them."""
        return {"RL_ARENA_STORAGE_URL": f"s3://{BUCKET}/{prefix}",
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_REGION": REGION, "AWS_ENDPOINT_URL": self.endpoint, "AWS_ALLOW_HTTP": "true"}

    def client(self) -> Any:
        """A boto3 client of the server (to look at the bucket from outside the platform)."""
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def keys(self, prefix: str) -> list[str]:
        """The keys of the objects under ``prefix/`` of the bucket, sorted."""
        listed = self.client().list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/")
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def read(self, key: str) -> bytes:
        """The bytes of the object at ``key`` (the bucket's full key)."""
        return self.client().get_object(Bucket=BUCKET, Key=key)["Body"].read()


def _free_port(host: str) -> int:
    """A TCP port free on ``host`` now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _answers(endpoint: str) -> bool:
    """Whether the server answers HTTP yet."""
    try:
        return httpx.get(endpoint, timeout=1).status_code < 500
    except httpx.TransportError:
        return False


@contextmanager
def s3_server(log: Path, host: str = "127.0.0.1") -> Iterator[S3Server]:
    """Start moto_server on a free port of ``host`` (loopback unless containers must reach it;
    its output in ``log``), make the bucket, yield the server; stop it after.
    FileNotFoundError when moto_server is not installed."""
    if not MOTO_SERVER.is_file():
        raise FileNotFoundError(f"{MOTO_SERVER} is missing: `make setup` installs the dev extras")
    port = _free_port(host)
    with log.open("wb") as out:
        process = subprocess.Popen([str(MOTO_SERVER), "-H", host, "-p", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT)
    server = S3Server(f"http://{host}:{port}")
    try:
        wait_for(lambda: process.poll() is not None or _answers(server.endpoint), 60,
                 "moto_server to answer")
        assert process.poll() is None, f"moto_server exited: {log.read_text()[-2000:]}"
        server.client().create_bucket(Bucket=BUCKET)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
