"""The message catalogs and the domain's responses: every text in Chinese, and no English in it.

Every msgid the code says (Babel's extractor over backend/ and bot/, keywords `t`, `N_`, `phrase`, the
console templates' `_`, and the `!N_` entries of the seed's data file) has a Chinese translation with
the same placeholders; every Chinese catalog entry and every Chinese response variation is free of
Latin words other than waybill numbers, ticket numbers, units and quoted person names.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import yaml
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from backend.i18n import catalog_path, t, translations
from tests.text_checks import PLACEHOLDER, latin_words

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS: dict[str, Any] = {"t": (2,), "N_": None, "phrase": None, "_": None}
# Python through Babel's own extractor; the seed's data file through its loader's (`!N_` marks a msgid);
# the console's templates through Jinja's (`{{ _("Queue") }}`, backend.console.language).
METHOD_MAP = [
    ("**.py", "python"),
    ("**/seed/*.yaml", "backend.seed.data:extract_msgids"),
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
]


def code_msgids() -> dict[str, str]:
    """Every msgid in the code, with where it is first said."""
    found: dict[str, str] = {}
    for folder in ("backend", "bot"):
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=METHOD_MAP, keywords=KEYWORDS, comment_tags=()
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                found.setdefault(msgid, f"{folder}/{filename}:{lineno}")
    for where, msgid in nested_msgids():
        found.setdefault(msgid, where)
    return found


def nested_msgids() -> list[tuple[str, str]]:
    """Every literal msgid of a `t`, `N_` or `phrase` call, read with `ast`.

    Babel's extractor skips a marked call nested in another call's arguments inside a keyword call
    (`phrase("... {amount}", amount=_cny(x, N_("the overcharge")))`), so the catalog test reads the
    code a second way; pybabel extract still misses those, so translate them by hand.
    """
    out = []
    for folder in ("backend", "bot"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                    continue
                index = {"t": 1, "N_": 0, "phrase": 0}.get(node.func.id)
                if index is None or len(node.args) <= index:
                    continue
                arg = node.args[index]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value:
                    out.append((f"{path.relative_to(ROOT)}:{node.lineno}", arg.value))
    return out


def chinese_catalog() -> dict[str, Any]:
    with catalog_path("zh").open("rb") as po:
        return {m.id: m for m in read_po(po) if m.id}


def chinese_responses() -> list[tuple[str, str]]:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return [
        (name, variation["text"])
        for name, variations in domain["responses"].items()
        for variation in variations
        if {"type": "slot", "name": "language", "value": "zh"} in (variation.get("condition") or [])
    ]


CODE = code_msgids()
CATALOG = chinese_catalog()


def test_the_code_says_its_texts_through_the_catalog() -> None:
    assert len(CODE) > 200


@pytest.mark.parametrize("msgid", sorted(CODE))
def test_every_msgid_has_a_chinese_translation_with_the_same_placeholders(msgid: str) -> None:
    entry = CATALOG.get(msgid)
    assert entry is not None, f"no Chinese for {CODE[msgid]}: {msgid!r}"
    assert entry.string.strip() and not entry.fuzzy, msgid
    assert sorted(PLACEHOLDER.findall(entry.string)) == sorted(PLACEHOLDER.findall(msgid)), msgid


def test_the_catalog_has_no_entry_the_code_no_longer_says() -> None:
    assert sorted(set(CATALOG) - set(CODE)) == []


@pytest.mark.parametrize("msgid", sorted(CATALOG))
def test_no_english_fragment_in_a_chinese_catalog_entry(msgid: str) -> None:
    assert latin_words(CATALOG[msgid].string) == [], msgid


def test_every_response_has_a_chinese_variation() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    with_chinese = {name for name, _ in chinese_responses()}
    assert sorted(set(domain["responses"]) - with_chinese) == []


@pytest.mark.parametrize(("name", "text"), chinese_responses())
def test_no_english_fragment_in_a_chinese_response(name: str, text: str) -> None:
    assert latin_words(text) == [], name


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("EA100000034CN（南宁 → 北京）：目前被暂扣。", []),
        ("投诉编号 T-202611-00042", []),
        ("例如：“EA123456785CN到哪了”", []),
        ("计费重量12 kg", []),
        ("请回复 agent", ["agent"]),
        ("Last scan：武汉", ["Last", "scan"]),
        ("由收件人“Li Wei”本人签收", []),  # a person's name, quoted
        ("签收人为“front desk”", ["front", "desk"]),  # a role word is no name
        ("由Li Wei签收", ["Li", "Wei"]),  # unquoted
    ],
)
def test_the_scan_tells_codes_from_words(text: str, found: list[str]) -> None:
    assert latin_words(text) == found


def test_english_reads_the_msgid_and_chinese_the_catalog() -> None:
    assert t("en", "Is that right?") == "Is that right?"
    assert t("zh", "Is that right?") == "请问以上信息正确吗？"
    assert t("zh-hans", "- Shipment: {waybill}", waybill="EA100000034CN") == "- 快递：EA100000034CN"
    # Read from the .po file itself: nothing compiled is needed on a fresh clone.
    assert not list(catalog_path("zh").parent.glob("*.mo"))
    assert translations("zh") is translations("zh")
