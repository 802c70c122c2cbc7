"""One tokenizer for Chinese and English messages (and the two mixed in one message).

Rasa 3.6's `JiebaTokenizer` accepts only `language: zh` and hands jieba the whole text, so English
words come out split at apostrophes and hyphens ("don", "'", "t") and every space becomes a token of
its own (rasa#7910). This subclass keeps what the parent does with a user dictionary (copied into
the model when training, loaded from the model when serving) and changes the splitting:

1. the text is NFKC-normalised character by character first ("ＥＡ１０００" is "EA1000", the
   ideographic space is a space); each token's offsets still point into the original text;
2. a message without a CJK character is split exactly as Rasa's `WhitespaceTokenizer` splits it, so
   English tokenises as before (words, punctuation at word edges dropped);
3. in a message with CJK characters, each run of CJK characters is cut by jieba (with our logistics
   dictionary, bot/nlu/jieba/) and every other run ("EA100000025CN", "ok", "，") is split like
   English; tokens without a letter or digit (spaces, "，", "？") are dropped.

Used from config.yml as `bot.nlu.tokenizer.BilingualJiebaTokenizer`; runs in .venv-rasa only.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from pathlib import Path
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

# CJK unified ideographs (with extension A and the compatibility block): what "Chinese" means here and
# in tools/evaluate.py.
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_RUN = re.compile(f"[{CJK}]+")
HAS_CJK = re.compile(f"[{CJK}]")
WORD_CHARACTER = re.compile(r"[^\W_]")

PROJECT_DICTIONARY = Path(__file__).with_name("jieba")


def normalise(text: str) -> tuple[str, list[int]]:
    """NFKC per character, with the offset in `text` of every character of the result."""
    pieces: list[str] = []
    offsets: list[int] = []
    for index, character in enumerate(text):
        normalised = unicodedata.normalize("NFKC", character) or character
        pieces.append(normalised)
        offsets.extend([index] * len(normalised))
    return "".join(pieces), offsets


def has_cjk(text: str) -> bool:
    return bool(HAS_CJK.search(text))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class BilingualJiebaTokenizer(JiebaTokenizer):
    """jieba for the Chinese runs of a message, Rasa's whitespace splitting for everything else."""

    @staticmethod
    def supported_languages() -> list[str] | None:
        return ["zh", "en"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**JiebaTokenizer.get_default_config(), "dictionary_path": str(PROJECT_DICTIONARY)}

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """The dictionary's contents, so that editing a word retrains (Rasa fingerprints only the path)."""
        path = config.get("dictionary_path")
        if not path:
            return None
        digest = hashlib.sha256()
        for file in sorted(Path(path).glob("*")):
            if file.is_file():
                digest.update(file.name.encode() + b"\0" + file.read_bytes())
        return digest.hexdigest()

    def __init__(self, config: dict[str, Any], model_storage: Any, resource: Any) -> None:
        super().__init__(config, model_storage, resource)
        logging.getLogger("jieba").setLevel(logging.WARNING)
        # The parent applies the token pattern once, to the tokens of both kinds.
        self._words = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        normalised, offsets = normalise(text)
        if not has_cjk(normalised):
            words = self._english(normalised, keep_symbols=True)
        else:
            words = []
            position = 0
            for run in CJK_RUN.finditer(normalised):
                words += self._english(normalised[position : run.start()], offset=position)
                words += self._chinese(run.group(), offset=run.start())
                position = run.end()
            words += self._english(normalised[position:], offset=position)
        tokens = [
            Token(word, offsets[start], offsets[start + len(word) - 1] + 1)
            for word, start in words
            if word.strip()
        ]
        return self._apply_token_pattern(tokens)

    def _english(self, segment: str, offset: int = 0, keep_symbols: bool = False) -> list[tuple[str, int]]:
        """Rasa's whitespace splitting; `keep_symbols` keeps its whole-text token for ":)" alone."""
        if not segment.strip():
            return []
        tokens = self._words.tokenize(Message(data={TEXT: segment}), TEXT)
        return [
            (token.text, offset + token.start)
            for token in tokens
            if keep_symbols or WORD_CHARACTER.search(token.text)
        ]

    @staticmethod
    def _chinese(run: str, offset: int) -> list[tuple[str, int]]:
        import jieba

        return [(word, offset + start) for word, start, _ in jieba.tokenize(run) if word.strip()]
