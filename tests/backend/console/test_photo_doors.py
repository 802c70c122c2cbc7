"""A photo in the console goes out as the image type it was checked to be (nosniff), without EXIF."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import Attachment
from tests.backend.console.clients import Console
from tests.backend.factories import escalated
from tests.backend.services.test_photo_exif import APP0, DQT, EXIF, GPS, jpeg


def test_a_photo_stored_with_exif_is_served_without_it(
    app: FastAPI, people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, _ = escalated(db_factory, category="damage")
    upload_dir: Path = app.state.settings.upload_dir
    relative = Path("older") / f"{cid.replace(':', '_')}.jpg"
    (upload_dir / relative).parent.mkdir(parents=True, exist_ok=True)
    (upload_dir / relative).write_bytes(jpeg(APP0, EXIF, DQT))  # stored before EXIF was dropped at upload
    with session_scope(db_factory) as session:
        row = Attachment(
            conversation_id=cid, sha256="0" * 64, size=1, content_type="image/jpeg", path=str(relative)
        )
        session.add(row)
        session.flush()
        attachment_id = row.id
    photo = people["alice"].get(f"/console/api/attachments/{attachment_id}")
    assert photo.status_code == 200
    assert photo.headers["x-content-type-options"] == "nosniff"
    assert photo.headers["content-type"] == "image/jpeg"
    assert GPS not in photo.content and photo.content == jpeg(APP0, DQT)
