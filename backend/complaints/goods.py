"""What was damaged or is missing, when the shipper's own story already names it.

The complaint form asks "What exactly was damaged or is missing?" only when the story has not said it:
"the vase inside is smashed" names the goods, "my parcel arrived damaged" does not (the parcel is the
packaging, not what is in it). A clause that carries a damage or loss word and names something other
than the packaging, a pronoun or a generic word ("items", 东西) is the extent, in the shipper's words.

Rules, not a model: the product has no part-of-speech tagger loaded (the signal reader's spaCy pipeline
is a blank one), so the English side reads short noun phrases around the damage word and the Chinese
side the words before or after it.
"""

from __future__ import annotations

import re
import unicodedata

from backend.language import CHINESE_CHARACTER, HAN
from backend.waybill import without_waybills

# The longest clause kept as the extent; a longer one is a whole story, not "what was damaged".
MAX_EXTENT_CHARS = 160

_EN_CUES = re.compile(
    r"\b(broken|broke|smashed|shattered|cracked|crushed|damaged|dented|torn|ripped|scratched|bent|"
    r"wet|soaked|leaking|leaked|leaks|spilled|spilt|spoiled|spoilt|rotten|melted|destroyed|ruined|"
    r"missing|lost|stolen|gone|short|in pieces)\b",
    re.I,
)
# Words that never name the goods: the packaging and the shipment itself, generic words, pronouns,
# and the verbs and fillers that stand between a noun and its damage word.
_EN_NOT_GOODS = frozenset(
    """
    box boxes carton cartons parcel parcels package packages packaging pack packet shipment shipments
    delivery deliveries order orders item items thing things stuff goods contents content product
    products purchase purchases consignment freight cargo wrapping wrap envelope bag bags it they this
    that these those everything something anything all some one ones mine which what whole entire
    is are was were be been being got get gets has have had arrived came come received delivered
    opened found showed turned looks looked seems seemed totally completely fully partly partially
    badly really very so just also even too still already now all half inside outside in out of
    the a an my our your his her their its and or but with without when then there here i we you
    he she me us them please help hi hello sorry from for to at on by after before during since about
    into onto over under through transit shipping transport way yesterday today again completely
    because while not never no any be do up as if am ok hey pls plz
    """.split()
)
_EN_DETERMINERS = (
    r"the|my|our|a|an|his|her|their|both|two|three|four|five|six|several|some|\d+|one|all\s+the|"
    r"all\s+my|half\s+the|half\s+of\s+the"
)
# "the vase", "my new laptop", "two bottles of wine": a determiner and up to four words.
_EN_PHRASE = re.compile(rf"\b(?:{_EN_DETERMINERS})\s+((?:[a-z][a-z'-]*\s+){{0,3}}[a-z][a-z'-]*)", re.I)
_EN_WORD = re.compile(r"[a-z][a-z'-]*", re.I)
_CLAUSE_BREAK = re.compile(r"[.!?;。！？；，,\n]+|\s+but\s+|\s+and then\s+|\s+though\s+", re.I)

_ZH_CUES = re.compile(
    r"压扁|压坏|压碎|摔坏|摔碎|变形|泡水|受潮|不见了|丢了|丢失|少了|没了|缺了|碎|坏|裂|破|凹|湿|漏|烂|划"
)
# Packaging, the shipment itself, generic and function words (longest first, so 包装箱 goes before 包装).
_ZH_NOT_GOODS = sorted(
    """
    包装箱 包装盒 外包装 纸箱子 快递盒 快递箱 快递 包裹 包装 箱子 纸箱 外箱 盒子 袋子 货物 东西 物品
    商品 宝贝 订单 整个 整件 全部 所有 里面的 里头的 里面 里头 外面 我们的 我的 你们 你们的 他们 它们
    这个 那个 这些 那些 已经 结果 居然 竟然 完全 全都 都 全 也 又 还 就 被 把 给 让 了 的 得 是 有 我 它 他 她
    一些 一点 一下 好多 很多 部分 一半 打开 收到 拿到 到了 发现 看到 送到 送来 件 货
    但是 可是 不过 而且 然后 并且 时候 今天 昨天 前天 刚才 刚刚 刚 才 直接 怎么 为什么 什么 真的 太 非常 好像
    根本 简直 明显 严重 一个 一 个 洞 口子 角 边 处 地方 样 成 掉 啊 吧 呢 吗 呀
    """.split(),
    key=len,
    reverse=True,
)
_ZH_NUMBER_MEASURE = re.compile(r"^[一二两三四五六七八九十几\d]+\s*[个台件只瓶盒箱包套双把张块条支本部颗袋]?")
_HAN_RUN = re.compile(f"[{HAN}]+")


def named_extent(text: str) -> str | None:
    """The clause of `text` that says which goods were damaged or are missing, or None if none does."""
    folded = unicodedata.normalize("NFKC", without_waybills(text or "")).strip()
    if not folded:
        return None
    for clause in _CLAUSE_BREAK.split(folded):
        clause = clause.strip(" \t\"'“”‘’()（）")
        if not clause or len(clause) > MAX_EXTENT_CHARS:
            continue
        if CHINESE_CHARACTER.search(clause) and _names_goods_zh(clause):
            return clause
        if _names_goods_en(clause):
            return _from_the_goods(clause)
    return None


def _from_the_goods(clause: str) -> str:
    """The clause from its first part that names something ("arrived today and my TV screen is
    cracked" → "my TV screen is cracked"; "two bottles of wine and a lamp are missing" stays whole)."""
    parts = re.split(r"\s+and\s+", clause)
    while len(parts) > 1 and not _has_goods_word(_EN_WORD.findall(parts[0])):
        parts.pop(0)
    return " and ".join(parts)


def _names_goods_en(clause: str) -> bool:
    cue = _EN_CUES.search(clause)
    if cue is None:
        return False
    for phrase in _EN_PHRASE.finditer(clause):
        # A phrase that runs into the damage word ("the broken vase") ends at it.
        words = _EN_WORD.findall(_EN_CUES.sub(" ", phrase.group(1)))
        if _has_goods_word(words):
            return True
    # Without a determiner: the word just before the damage word ("screen cracked", "glass broken")
    # or just after it ("broken glasses", "missing shoes").
    before = _EN_WORD.findall(clause[: cue.start()])
    after = _EN_WORD.findall(clause[cue.end() :])
    return _has_goods_word(before[-1:]) or _has_goods_word(after[:1])


def _has_goods_word(words: list[str]) -> bool:
    return any(len(word) >= 2 and word.lower() not in _EN_NOT_GOODS for word in words)


def _names_goods_zh(clause: str) -> bool:
    for cue in _ZH_CUES.finditer(clause):
        before = _strip_zh(clause[: cue.start()])
        after = _strip_zh(_ZH_NUMBER_MEASURE.sub("", clause[cue.end() :].lstrip("了掉坏碎成 ")))
        if _HAN_RUN.search(before) or _HAN_RUN.search(after[:8]):
            return True
    return False


def _strip_zh(words: str) -> str:
    """The words with packaging, generic and function words taken out."""
    for word in _ZH_NOT_GOODS:
        words = words.replace(word, "")
    return "".join(_HAN_RUN.findall(words))
