"""Shippers' photos keep no EXIF (the GPS position of their home): dropped when stored and when served."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy.orm import Session

from backend.services.attachments import store_attachment, without_exif

GPS = b"GPS 31.2304N 121.4737E"
APP0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
EXIF = b"\xff\xe1" + (len(b"Exif\x00\x00MM\x00*" + GPS) + 2).to_bytes(2, "big") + b"Exif\x00\x00MM\x00*" + GPS
DQT = b"\xff\xdb\x00\x05\x00\x01\x02"
SCAN = b"\xff\xda\x00\x04\x01\x00" + b"\x12\x34\xff\x00\xe1\x56" + b"\xff\xd9"


def jpeg(*segments: bytes) -> bytes:
    return b"\xff\xd8" + b"".join(segments) + SCAN


def test_exif_is_cut_and_everything_else_kept() -> None:
    assert without_exif(jpeg(APP0, EXIF, DQT)) == jpeg(APP0, DQT)
    assert without_exif(jpeg(EXIF, APP0, EXIF, DQT)) == jpeg(APP0, DQT)
    # Bytes inside the image data that look like a marker are image data, untouched.
    assert without_exif(jpeg(APP0, DQT)) == jpeg(APP0, DQT)


def test_other_images_and_broken_jpegs_are_left_as_they_are() -> None:
    png = b"\x89PNG\r\n\x1a\n" + GPS
    assert without_exif(png) == png
    broken = b"\xff\xd8" + b"\xff\xe1\xff\xff" + GPS  # a segment longer than the file
    assert without_exif(broken) == broken


def test_a_stored_photo_has_no_gps(db_session: Session, tmp_path: Path) -> None:
    cid = f"web:{uuid.uuid4().hex[:10]}"
    attachment = store_attachment(
        db_session, conversation_id=cid, data=jpeg(APP0, EXIF, DQT), upload_dir=tmp_path, max_bytes=10**6
    )
    stored = (tmp_path / attachment.path).read_bytes()
    assert GPS not in stored and stored == jpeg(APP0, DQT)
    assert attachment.size == len(stored)
