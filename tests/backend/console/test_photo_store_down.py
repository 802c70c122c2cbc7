"""An agent opening a photo whose store is unreachable gets a 503 with a polite line, not a 404 or a 500."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.i18n import t
from backend.services.attachments import PHOTO_STORE_DOWN, store_attachment
from tests.backend.console.clients import Console
from tests.backend.factories import escalated
from tests.fakes.images import png_bytes


def test_a_photo_in_an_unreachable_store_is_a_503(
    app: FastAPI, people: dict[str, Console], db_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    cid, _ = escalated(db_factory, category="damage")
    photo = png_bytes(3, 3)
    with session_scope(db_factory) as session:
        attachment_id = store_attachment(
            session, conversation_id=cid, data=photo, store=app.state.uploads, max_bytes=10**6
        ).id
    url = f"/console/api/attachments/{attachment_id}"
    served = people["alice"].get(url)
    assert served.status_code == 200 and served.content == photo
    root: Path = app.state.uploads.root
    shutil.move(root, tmp_path / "unmounted")
    try:
        down = people["alice"].get(url)
        assert down.status_code == 503
        assert down.json()["detail"] in (t("en", PHOTO_STORE_DOWN), t("zh", PHOTO_STORE_DOWN))
    finally:
        shutil.move(tmp_path / "unmounted", root)
    assert people["alice"].get(url).content == photo
