"""The widget's photos through each upload store: kept in an S3 bucket (moto's server) and shown again;
a store that is down is a polite line to the shipper (the message is kept) and a 503 for a stored photo."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.channels.web import SESSION_HEADER
from backend.i18n import t
from backend.services.attachments import PHOTO_STORE_DOWN, STORE_FAILED
from tests.backend.channels.test_web import PNG_1PX, history, make_app, new_session, upload
from tests.fakes.s3_server import LocalS3, local_s3
from tools.stack import free_port


@pytest.fixture(scope="module")
def s3_server() -> Iterator[LocalS3]:
    with local_s3() as server:
        yield server


def test_a_widget_photo_is_kept_in_the_bucket_and_shown_again(
    db_url: str, seeded_today: date, tmp_path: Path, s3_server: LocalS3
) -> None:
    app = make_app(db_url, tmp_path / "unused", **s3_server.settings(prefix="widget/"))
    with TestClient(app) as client:
        token, conversation_id = new_session(client)
        assert upload(client, token, PNG_1PX, client_id="s3-photo-1").status_code == 200
        [message, *_] = history(client, token)
        [attachment] = message["attachments"]
        shown = client.get(f"/widget/attachments/{attachment['id']}", headers={SESSION_HEADER: token})
        assert shown.status_code == 200 and shown.content == PNG_1PX
        assert shown.headers["content-type"] == "image/png"
    # In the bucket under the prefix, and nowhere on this machine's disk.
    listed = s3_server.client().list_objects_v2(Bucket=s3_server.bucket, Prefix="widget/")  # type: ignore[attr-defined]
    keys = [item["Key"] for item in listed.get("Contents", [])]
    assert any(key.startswith(f"widget/{conversation_id.replace(':', '_')}/") for key in keys), keys
    assert not (tmp_path / "unused").exists()


@pytest.mark.parametrize(
    ("caption", "language"), [("the box arrived crushed", "en"), ("箱子到的时候被压坏了", "zh")]
)
def test_a_store_that_is_down_is_said_politely_and_the_message_kept(
    db_url: str, seeded_today: date, tmp_path: Path, caption: str, language: str
) -> None:
    down = {
        "upload_store": "s3",
        "s3_endpoint_url": f"http://127.0.0.1:{free_port()}",
        "s3_bucket": "carrier-uploads",
        "s3_access_key_id": "id-0123456789",
        "s3_secret_access_key": "secret-0123456789abcdef",
    }
    with TestClient(make_app(db_url, tmp_path / "unused", **down)) as client:
        token, _ = new_session(client)
        response = upload(client, token, PNG_1PX, text=caption, client_id="down-photo-1")
        assert response.status_code == 200, response.text
        said = [reply["text"] for reply in response.json()["replies"]]
        assert t(language, STORE_FAILED) in said
        [message, *_] = history(client, token)
        assert message["text"] == caption and message["attachments"] == []


def test_a_stored_photo_whose_store_is_gone_is_a_503_not_a_404(
    db_url: str, seeded_today: date, tmp_path: Path
) -> None:
    uploads = tmp_path / "uploads"
    with TestClient(make_app(db_url, uploads)) as client:
        token, _ = new_session(client)
        assert upload(client, token, PNG_1PX).status_code == 200
        [message, *_] = history(client, token)
        url = f"/widget/attachments/{message['attachments'][0]['id']}"
        shutil.move(uploads, tmp_path / "unmounted")  # the shared mount went away
        for language in ("en", "zh"):
            gone = client.get(url, headers={SESSION_HEADER: token, "Accept-Language": language})
            assert gone.status_code == 503 and gone.json()["error"] == t(language, PHOTO_STORE_DOWN)
        shutil.move(tmp_path / "unmounted", uploads)
        back = client.get(url, headers={SESSION_HEADER: token})
        assert back.status_code == 200 and back.content == PNG_1PX


def test_health_says_the_upload_store_is_down_and_start_up_says_it_once(
    db_url: str, seeded_today: date, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    no_bucket = {
        "upload_store": "s3",
        "s3_endpoint_url": f"http://127.0.0.1:{free_port()}",
        "s3_bucket": "carrier-uploads",
        "s3_access_key_id": "id-0123456789",
        "s3_secret_access_key": "secret-0123456789abcdef",
    }
    with caplog.at_level("WARNING"), TestClient(make_app(db_url, tmp_path / "unused", **no_bucket)) as client:
        body = client.get("/api/health").json()
    assert body["status"] == "degraded" and body["checks"]["uploads"] == "down"
    started = [r.getMessage() for r in caplog.records if "upload store not usable yet" in r.getMessage()]
    assert len(started) == 1 and "carrier-uploads" in started[0]
    assert "secret-0123456789abcdef" not in caplog.text
