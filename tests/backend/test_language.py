"""Reading the shipper's language from each message."""

from __future__ import annotations

import pytest

from backend.language import detect_language, language_from_hint


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("我的快递到哪了", "zh"),
        ("EA100000025CN到哪了", "zh"),
        ("单号ea 1000 0002 5 cn", "zh"),
        ("ＥＡ１０００００００２５ＣＮ 到哪里了？", "zh"),
        ("where is my parcel", "en"),
        ("EA100000025CN where is it", "en"),
        ("pls check ea100000025cn", "en"),
    ],
)
def test_words_decide(text: str, language: str) -> None:
    assert detect_language(text, previous="en" if language == "zh" else "zh") == language


@pytest.mark.parametrize("text", ["EA100000025CN", "138-0000-0003", "👍", "", "T-202611-00042", "5 kg"])
def test_no_words_keep_the_conversations_language(text: str) -> None:
    assert detect_language(text, previous="zh") == "zh"
    assert detect_language(text, previous="en") == "en"
    assert detect_language(text, hint="zh-hans") == "zh"
    assert detect_language(text) == "en"


@pytest.mark.parametrize(
    ("hint", "language"), [("zh-hans", "zh"), ("zh_CN", "zh"), ("en-GB", "en"), ("de", None), (None, None)]
)
def test_telegram_hint(hint: str | None, language: str | None) -> None:
    assert language_from_hint(hint) == language
