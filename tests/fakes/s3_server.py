"""A local S3-compatible server for tests: moto's server in a child process on 127.0.0.1 (no internet)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
import httpx

from tools.stack import free_port

ACCESS_KEY_ID = "test-access-key-id"
# Looks like a secret so that a test can prove it never reaches a log line or an error text.
SECRET_ACCESS_KEY = "test-secret-0f9a8b7c6d5e4f3a2b1c"


@dataclass
class LocalS3:
    """A running server: where it is, its bucket, and the settings that point a backend at it."""

    process: subprocess.Popen[bytes]
    endpoint_url: str
    bucket: str

    def settings(self, prefix: str = "") -> dict[str, str]:
        """Settings (lower-case names, as Settings takes them) selecting the s3 store on this server."""
        return {
            "upload_store": "s3",
            "s3_endpoint_url": self.endpoint_url,
            "s3_bucket": self.bucket,
            "s3_access_key_id": ACCESS_KEY_ID,
            "s3_secret_access_key": SECRET_ACCESS_KEY,
            "s3_region": "us-east-1",
            "s3_key_prefix": prefix,
        }

    def env(self, prefix: str = "") -> dict[str, str]:
        """The same as environment variables, for a backend started as a process."""
        return {name.upper(): value for name, value in self.settings(prefix).items()}

    def client(self) -> object:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@contextmanager
def local_s3(bucket: str = "carrier-test-uploads") -> Iterator[LocalS3]:
    """moto's S3 server on a free port with one empty bucket; stopped on exit."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = LocalS3(process=process, endpoint_url=f"http://127.0.0.1:{port}", bucket=bucket)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto's server exited with {process.returncode}")
            try:
                httpx.get(f"{server.endpoint_url}/moto-api/", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto's server did not start within 60 s") from None
                time.sleep(0.2)
        server.client().create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
        yield server
    finally:
        server.stop()
