"""The upload stores keep one contract: the same tests over a directory and an S3 bucket (moto's server).

Save and read back, a missing key, keys that would lead out of the store, the size cap on reads, and a
store that is down: StoreUnavailable naming the store, never a credential; through the attachments
service the shipper then hears STORE_FAILED (nothing recorded) and a route gets StoreUnavailable.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.models import Attachment
from backend.services.attachments import (
    STORE_FAILED,
    UploadRejected,
    attachment_file,
    store_attachment,
)
from backend.storage import InvalidKey, StoreUnavailable, UploadStore, make_store
from backend.storage.directory import DirectoryStore
from backend.storage.s3 import S3Store
from tests.fakes.images import png_bytes
from tests.fakes.s3_server import SECRET_ACCESS_KEY, LocalS3, local_s3
from tools.stack import free_port

PHOTO = png_bytes(6, 5, (10, 120, 200))
OUTSIDE_KEYS = [
    "../escape.png",
    "a/../../escape.png",
    "/etc/passwd",
    "a\\..\\b.png",
    "",
    "a//b.png",
    "./a.png",
]


@pytest.fixture(scope="module")
def s3_server() -> Iterator[LocalS3]:
    with local_s3() as server:
        yield server


def s3_store(server: LocalS3, **changes: str) -> S3Store:
    values = server.settings(prefix=f"t{uuid.uuid4().hex[:8]}/") | changes
    return S3Store.from_settings(Settings(_env_file=None, **values))  # type: ignore[arg-type]


@pytest.fixture(params=["directory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> UploadStore:
    if request.param == "directory":
        return DirectoryStore(tmp_path / "uploads")
    return s3_store(request.getfixturevalue("s3_server"))


@pytest.fixture(params=["directory", "s3"])
def broken_store(request: pytest.FixtureRequest, tmp_path: Path) -> UploadStore:
    """A store that cannot be reached: a "directory" that is a file; S3 on a port nothing listens on."""
    if request.param == "directory":
        blocker = tmp_path / "not-a-folder"
        blocker.write_bytes(b"")
        return DirectoryStore(blocker)
    return S3Store(
        bucket="carrier-test-uploads",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        access_key_id="test-access-key-id",
        secret_access_key=SECRET_ACCESS_KEY,
    )


def test_a_saved_photo_reads_back_the_same_and_a_second_save_is_harmless(store: UploadStore) -> None:
    store.save("web_abc/one.png", PHOTO)
    store.save("web_abc/one.png", PHOTO)  # a resent photo: the same content under the same key
    assert store.read("web_abc/one.png", max_bytes=len(PHOTO)) == PHOTO
    assert store.read("web_abc/other.png", max_bytes=10**6) is None
    assert store.read("nobody/one.png", max_bytes=10**6) is None


def test_keys_leading_out_of_the_store_are_refused(store: UploadStore, tmp_path: Path) -> None:
    (tmp_path / "escape.png").write_bytes(PHOTO)
    for key in OUTSIDE_KEYS:
        with pytest.raises(InvalidKey):
            store.save(key, PHOTO)
        with pytest.raises(InvalidKey):
            store.read(key, max_bytes=10**6)


def test_reads_larger_than_the_cap_are_refused(store: UploadStore) -> None:
    store.save("big/photo.png", PHOTO)
    assert store.read("big/photo.png", max_bytes=len(PHOTO) - 1) is None
    assert store.read("big/photo.png", max_bytes=len(PHOTO)) == PHOTO


def test_a_store_that_is_down_says_so_without_secrets(broken_store: UploadStore) -> None:
    with pytest.raises(StoreUnavailable) as saving:
        broken_store.save("web_abc/one.png", PHOTO)
    with pytest.raises(StoreUnavailable) as reading:
        broken_store.read("web_abc/one.png", max_bytes=10**6)
    with pytest.raises(StoreUnavailable) as checking:
        broken_store.check()  # what /api/health and the start-up line report
    for error in (saving.value, reading.value, checking.value):
        assert broken_store.describe() in str(error)
        assert SECRET_ACCESS_KEY not in str(error) and SECRET_ACCESS_KEY not in repr(error)


def test_a_working_store_passes_its_check(store: UploadStore) -> None:
    store.check()


def test_a_bucket_that_was_never_created_fails_the_check(s3_server: LocalS3) -> None:
    missing = s3_store(s3_server, s3_bucket=f"never-made-{uuid.uuid4().hex[:8]}")
    with pytest.raises(StoreUnavailable, match="cannot reach the bucket"):
        missing.check()


def test_a_photo_goes_into_the_store_and_comes_back_checked(store: UploadStore, db_session: Session) -> None:
    cid = f"web:{uuid.uuid4().hex[:10]}"
    attachment = store_attachment(db_session, conversation_id=cid, data=PHOTO, store=store, max_bytes=10**6)
    assert attachment.path == f"{cid.replace(':', '_')}/{attachment.sha256}.png"
    assert store.read(attachment.path, max_bytes=10**6) == PHOTO
    served = attachment_file(db_session, attachment.id, store=store, conversation_id=cid)
    assert served is not None and served.data == PHOTO and served.content_type == "image/png"
    assert attachment_file(db_session, attachment.id, store=store, conversation_id="web:other") is None
    # A row whose file is not an image (replaced in the store) is not served, whatever its stored type.
    store.save(f"{cid.replace(':', '_')}/fake.png", b"<html><script>alert(1)</script>")
    attachment.path = f"{cid.replace(':', '_')}/fake.png"
    assert attachment_file(db_session, attachment.id, store=store) is None
    # A tampered row leading out of the store is "not found", not an error.
    attachment.path = "../../etc/passwd"
    assert attachment_file(db_session, attachment.id, store=store) is None
    attachment.path = f"{cid.replace(':', '_')}/missing.png"
    assert attachment_file(db_session, attachment.id, store=store) is None


def test_a_store_that_is_down_is_a_polite_refusal_and_one_log_line(
    broken_store: UploadStore, db_session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    cid = f"web:{uuid.uuid4().hex[:10]}"
    with caplog.at_level(logging.WARNING), pytest.raises(UploadRejected) as refused:
        store_attachment(db_session, conversation_id=cid, data=PHOTO, store=broken_store, max_bytes=10**6)
    assert refused.value.msgid == STORE_FAILED
    assert refused.value.text("zh") == "抱歉，这张照片刚才没能保存。请过几分钟再发送一次好吗？"
    assert "send it again" in refused.value.text("en")
    assert db_session.scalars(select(Attachment).where(Attachment.conversation_id == cid)).all() == []
    [line] = [r for r in caplog.records if "not stored" in r.getMessage()]
    assert line.exc_info is None and SECRET_ACCESS_KEY not in line.getMessage()


def test_the_settings_choose_the_store_and_refuse_bad_values(s3_server: LocalS3, tmp_path: Path) -> None:
    directory = make_store(Settings(_env_file=None, upload_dir=tmp_path))  # type: ignore[call-arg]
    assert isinstance(directory, DirectoryStore) and directory.root == tmp_path
    s3 = make_store(Settings(_env_file=None, **s3_server.settings()))  # type: ignore[arg-type]
    assert isinstance(s3, S3Store) and s3.bucket == s3_server.bucket
    assert SECRET_ACCESS_KEY not in s3.describe()
    bad = [
        ({"upload_store": "s3"}, "S3_BUCKET"),
        ({"upload_store": "ftp"}, "upload_store"),
        ({"upload_store": "s3", "s3_bucket": "Not_A_Bucket"}, "S3_BUCKET"),
        ({"upload_store": "s3", "s3_bucket": "photos", "s3_access_key_id": "only-one"}, "both"),
        ({"upload_store": "s3", "s3_bucket": "photos", "s3_endpoint_url": "ftp://x"}, "S3_ENDPOINT_URL"),
        ({"s3_endpoint_url": f"http://key:{SECRET_ACCESS_KEY}@127.0.0.1:9000"}, "must not hold credentials"),
        ({"s3_key_prefix": "../up"}, "S3_KEY_PREFIX"),
        ({"upload_max_bytes": 0}, "UPLOAD_MAX_BYTES"),
    ]
    for values, named in bad:
        with pytest.raises(ValidationError) as error:
            Settings(_env_file=None, **values)  # type: ignore[arg-type]
        assert named in str(error.value)
        assert SECRET_ACCESS_KEY not in str(error.value)
