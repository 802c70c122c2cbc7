"""The channels' own words (buttons, upload refusals) follow the shipper's language too."""

from __future__ import annotations

import pytest

from backend.channels.telegram import contact_keyboard
from backend.channels.web import photo_refusal
from backend.services.attachments import UploadRejected, check_image, too_large_text


def test_the_contact_button_speaks_the_replys_language() -> None:
    assert contact_keyboard("zh").keyboard[0][0].text == "分享我的手机号"
    assert contact_keyboard().keyboard[0][0].text == "Share my phone number"


@pytest.mark.parametrize(("data", "zh"), [(b"", "空的"), (b"not an image at all", "照片")])
def test_upload_refusals_in_both_languages(data: bytes, zh: str) -> None:
    with pytest.raises(UploadRejected) as refused:
        check_image(data, max_bytes=1000)
    assert zh in refused.value.text("zh")
    assert str(refused.value) == refused.value.text("en") and "photo" in str(refused.value)
    assert photo_refusal(data, 1000, "zh") == refused.value.text("zh")


def test_too_large_in_both_languages() -> None:
    english = too_large_text(10 * 1024 * 1024)
    assert english == "That file is larger than 10 MB. Could you send a smaller photo?"
    assert "10兆" in too_large_text(10 * 1024 * 1024, "zh")
