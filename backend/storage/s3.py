"""The S3 upload store: objects in a bucket of any S3-compatible service, through boto3."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from backend.storage import StoreUnavailable, check_key

if TYPE_CHECKING:
    from backend.config import Settings

# Errors S3 (and its look-alikes) give for an object or bucket that is not there.
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
# A store that does not answer must fail a shipper's upload within seconds, not hang the turn.
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 15.0


class S3Store:
    """Photos as objects `<prefix><key>` in one bucket."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        key_prefix: str = "",
    ) -> None:
        self.bucket, self.endpoint_url, self.region = bucket, endpoint_url, region
        self.key_prefix = key_prefix
        # Kept private and never in describe() or an error text.
        self._credentials = {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key}
        self._client: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Store:
        assert settings.s3_bucket is not None  # checked by Settings when UPLOAD_STORE=s3
        return cls(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            key_prefix=settings.s3_key_prefix,
        )

    def describe(self) -> str:
        return f"s3 {self.endpoint_url or 'AWS'} bucket {self.bucket}"

    def client(self) -> Any:
        """One client per store, made on first use (boto3 clients may be shared between threads)."""
        with self._lock:
            if self._client is None:
                self._client = boto3.session.Session().client(
                    "s3",
                    endpoint_url=self.endpoint_url,
                    region_name=self.region,
                    config=Config(
                        connect_timeout=CONNECT_TIMEOUT_S,
                        read_timeout=READ_TIMEOUT_S,
                        retries={"max_attempts": 2, "mode": "standard"},
                        # Path-style addresses work with every S3 look-alike (MinIO, Ceph, moto).
                        s3={"addressing_style": "path"},
                        signature_version="s3v4",
                    ),
                    **self._credentials,
                )
            return self._client

    def _object(self, key: str) -> str:
        return self.key_prefix + check_key(key)

    def _unavailable(self, doing: str, error: Exception) -> StoreUnavailable:
        if isinstance(error, ClientError):
            reason = str(error.response.get("Error", {}).get("Code", "error"))
        else:
            reason = type(error).__name__
        return StoreUnavailable(f"{self.describe()}: cannot {doing} ({reason})")

    def check(self) -> None:
        # HEAD on the bucket: reachable, the credentials accepted, the bucket there (NoSuchBucket, 404).
        try:
            self.client().head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as error:
            raise self._unavailable("reach the bucket", error) from None

    def save(self, key: str, data: bytes) -> None:
        name = self._object(key)
        try:
            self.client().put_object(Bucket=self.bucket, Key=name, Body=data)
        except (BotoCoreError, ClientError) as error:
            raise self._unavailable("write", error) from None

    def read(self, key: str, *, max_bytes: int) -> bytes | None:
        name = self._object(key)
        try:
            response = self.client().get_object(Bucket=self.bucket, Key=name)
            body = response["Body"]
            try:
                if int(response.get("ContentLength") or 0) > max_bytes:
                    return None
                data: bytes = body.read(max_bytes + 1)
            finally:
                body.close()
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code")) in _MISSING:
                return None
            raise self._unavailable("read", error) from None
        except BotoCoreError as error:
            raise self._unavailable("read", error) from None
        return data if len(data) <= max_bytes else None
