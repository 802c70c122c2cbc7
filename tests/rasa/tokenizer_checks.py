"""Checks of bot.nlu.tokenizer, run by test_tokenizer.py with .venv-rasa's Python.

Rasa and jieba are installed only in .venv-rasa, which has no pytest: each check is a plain function
with asserts, and `python -m tests.rasa.tokenizer_checks NAME...` runs the named ones (all without a
name), printing `ok NAME` for each that passes and failing on the first that does not.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema, SchemaNode
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.engine.validation import _validate_supported_languages
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.tokenizer import PROJECT_DICTIONARY, BilingualJiebaTokenizer, normalise
from tests.rasa.checks import run_checks

ROOT = Path(__file__).resolve().parents[2]


def tokenizer(storage: LocalModelStorage | None = None, **config: object) -> BilingualJiebaTokenizer:
    context = ExecutionContext(GraphSchema({}), node_name="tokenizer")
    return BilingualJiebaTokenizer.create(
        {**BilingualJiebaTokenizer.get_default_config(), **config},
        storage or LocalModelStorage.__new__(LocalModelStorage),
        Resource("tokenizer"),
        context,
    )


def words(text: str, component: BilingualJiebaTokenizer | None = None) -> list[str]:
    return [token.text for token in (component or tokenizer()).tokenize(Message(data={TEXT: text}), TEXT)]


def spans(text: str) -> list[tuple[str, int, int]]:
    return [(t.text, t.start, t.end) for t in tokenizer().tokenize(Message(data={TEXT: text}), TEXT)]


def check_both_languages_are_supported() -> None:
    assert set(BilingualJiebaTokenizer.supported_languages() or []) == {"en", "zh"}
    for language in ("en", "zh"):
        node = SchemaNode(
            needs={}, uses=BilingualJiebaTokenizer, constructor_name="create", fn="process", config={}
        )
        _validate_supported_languages(language, node)  # raises for a language the component refuses


def check_english_tokenises_as_the_whitespace_tokenizer() -> None:
    """Every English text of the training data and the held-out files: the same tokens and offsets."""
    whitespace = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    ours = tokenizer()
    files = sorted((ROOT / "bot" / "data" / "nlu").glob("*.yml")) + sorted(
        (ROOT / "tests" / "nlu").glob("*.yml")
    )
    compared = 0
    for path in files:
        for item in yaml.safe_load(path.read_text()).get("nlu") or []:
            if "intent" not in item:
                continue
            for line in item["examples"].splitlines():
                text = line.strip()[2:]
                if not text or normalise(text)[0] != text or any("\u4e00" <= c <= "\u9fff" for c in text):
                    continue
                message = Message(data={TEXT: text})
                theirs = [(t.text, t.start, t.end) for t in whitespace.tokenize(message, TEXT)]
                mine = [(t.text, t.start, t.end) for t in ours.tokenize(message, TEXT)]
                assert mine == theirs, (text, mine, theirs)
                compared += 1
    assert compared > 3000, compared
    assert words("where's my parcel? don't know") == ["where", "s", "my", "parcel", "don", "t", "know"]


def check_chinese_is_cut_by_jieba_with_the_logistics_dictionary() -> None:
    assert words("我的快递到哪了") == ["我", "的", "快递", "到", "哪", "了"]
    assert "运单号" in words("运单号是多少")
    assert "快递员" in words("快递员态度太差了")
    for word in ("签收", "中转", "清关", "揽收", "派送", "代收点", "丰巢", "南宁", "桂林", "贵阳"):
        assert word in words(f"我的件{word}了吗"), word


def check_no_whitespace_or_punctuation_tokens_in_mixed_text() -> None:
    """rasa#7910: jieba's tokens of spaces; and Chinese punctuation carries no meaning here."""
    tokens = words("我的快递 EA100000025CN ，到哪了？ 转人工！")
    assert all(token.strip() for token in tokens), tokens
    assert "EA100000025CN" in tokens and "，" not in tokens and "？" not in tokens
    assert words("EA100000025CN到哪了")[:2] == ["EA100000025CN", "到"]
    assert words("单号ea 1000 0002 5 cn") == ["单号", "ea", "1000", "0002", "5", "cn"]
    assert words("ok好的") == ["ok", "好", "的"]


def check_full_width_text_is_normalised_and_offsets_stay_in_the_original() -> None:
    text = "ＥＡ１００００００２５ＣＮ　到哪了？"
    tokens = spans(text)
    assert tokens[0] == ("EA100000025CN", 0, 13)
    assert text[tokens[1][1] : tokens[1][2]] == "到"
    assert words("１３８－００００－０００３") == ["138-0000-0003"]
    assert normalise("ａ㎏b") == ("akgb", [0, 1, 1, 2])


def check_blank_and_symbol_messages() -> None:
    assert words("   ") == []
    assert words(":)") == [":)"]  # like the WhitespaceTokenizer: the whole text when nothing is left
    assert words("我的快递:)") == ["我", "的", "快递"]


def check_the_dictionary_is_persisted_with_the_model_and_fingerprinted() -> None:
    with tempfile.TemporaryDirectory() as directory:
        storage = LocalModelStorage(Path(directory))
        component = tokenizer(storage, dictionary_path=str(PROJECT_DICTIONARY))
        component.train(TrainingData([Message(data={TEXT: "我的快递到哪了"})]))
        with storage.read_from(Resource("tokenizer")) as stored:
            assert (Path(stored) / "logistics.txt").read_text() == (
                PROJECT_DICTIONARY / "logistics.txt"
            ).read_text()
        loaded = BilingualJiebaTokenizer.load(
            {**BilingualJiebaTokenizer.get_default_config(), "dictionary_path": str(PROJECT_DICTIONARY)},
            storage,
            Resource("tokenizer"),
            ExecutionContext(GraphSchema({}), node_name="tokenizer"),
        )
        assert "代收点" in words("放代收点", loaded)
    first = BilingualJiebaTokenizer.fingerprint_addon({"dictionary_path": str(PROJECT_DICTIONARY)})
    assert first and first == BilingualJiebaTokenizer.fingerprint_addon(
        {"dictionary_path": str(PROJECT_DICTIONARY)}
    )
    assert BilingualJiebaTokenizer.fingerprint_addon({"dictionary_path": None}) is None


def check_the_dictionary_has_the_logistics_words_and_demo_cities() -> None:
    entries = {
        line.split()[0] for line in (PROJECT_DICTIONARY / "logistics.txt").read_text().splitlines() if line
    }
    wanted = (
        "运单号 快递员 签收 中转 清关 揽收 派送 代收点 丰巢 "
        "南宁 桂林 北京 上海 广州 深圳 成都 昆明 海口 厦门 武汉 长沙 贵阳"
    )
    assert set(wanted.split()) <= entries


if __name__ == "__main__":
    sys.exit(run_checks(globals()))
