"""Reading the customer's answers inside the complaint form (pure: text in, values out).

English and Simplified Chinese: every check has an English pattern and a Chinese one (没有单号,
不知道, 晚点发, 八百, 不用了 ...), the Chinese ones over the NFKC form of the text (full-width digits
and letters are plain ones). Stories, amounts with a unit (800元, 三千块, 1.2万) and wishes are read
by the backend's signals in both languages first.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from backend.complaints import findings
from backend.complaints.signals import chinese_number, read_signals
from backend.domain import CATEGORIES
from backend.i18n import t

# Short answers to "what happened?" that the category matcher would not see as a story.
CATEGORY_WORDS = {
    "delay": ("late", "delay", "delayed", "slow", "not arrived", "stuck"),
    "missed_pickup": ("pickup", "pick up", "pick-up", "collect", "collection"),
    "damage": ("damage", "damaged", "broken", "crushed", "wet"),
    "loss": ("lost", "loss", "missing"),
    "wrong_delivery": ("wrong address", "wrong person", "wrong delivery", "never received", "wrong place"),
    "billing": ("bill", "billing", "charge", "charged", "invoice", "price", "overcharged"),
    "staff_conduct": ("rude", "staff", "courier", "driver", "attitude"),
    "other": ("other", "something else"),
}
WANTS_WORDS = {
    "refund": ("refund", "money back", "reimburse"),
    "compensation": ("compensat", "pay for", "claim"),
    "redelivery": ("redeliver", "re-deliver", "deliver again", "send it again", "resend", "bring it"),
    "apology": ("apolog", "sorry"),
    "report_only": ("just report", "just to report", "let you know", "nothing", "just informing"),
    "replacement": ("replace",),
}
# The same in Chinese, for short answers the signals do not read as a story or a wish (checked after
# the English words; the first category or wish whose words occur wins).
CATEGORY_WORDS_ZH = {
    "delay": ("延误", "延迟", "太慢", "慢", "晚到", "迟到", "超时", "没到", "还没到", "卡住", "不动"),
    "missed_pickup": ("没来取", "没上门", "上门取件", "取件", "揽收", "没人来取", "没来拿"),
    "damage": ("破损", "损坏", "坏了", "碎", "摔", "压扁", "压坏", "湿", "破了", "烂"),
    "loss": ("丢", "丢失", "不见", "少了", "缺", "没收到"),
    "wrong_delivery": ("送错", "错送", "寄错", "别人签收", "被人签收", "地址错"),
    "billing": ("多收", "收费", "运费", "扣费", "多扣", "账单", "发票", "价格", "乱收"),
    "staff_conduct": ("态度", "骂", "凶", "快递员", "服务差", "不礼貌", "素质"),
    "other": ("其他", "其它", "别的"),
}
WANTS_WORDS_ZH = {
    "refund": ("退款", "退钱", "退运费", "退费"),
    "compensation": ("赔", "理赔", "补偿"),
    "redelivery": ("重新派送", "重新送", "再送", "重新发", "重发", "送过来"),
    "apology": ("道歉", "赔礼", "说声对不起"),
    "report_only": ("反映", "反馈", "告诉你们", "说一下", "知道一下"),
    "replacement": ("补发", "补寄", "换一个", "换新", "换货"),
}
# The wishes and categories in words: the same msgids as the findings the agent reads.
WANTS_TEXT = findings.WANTS_WORDS
CATEGORY_TEXT = findings.CATEGORY_WORDS
NO_NUMBER = re.compile(
    r"\b(don'?t|do not|dont|didn'?t|no|not|never|can'?t|cannot|haven'?t)\b.*"
    r"\b(have|know|got|number|sure|remember|find|recall|get|kept)\b"
    r"|\b(no idea|dunno|idk|no clue|lost (it|the receipt|the slip|the paper))\b",
    re.I,
)
LATER = re.compile(r"\b(later|tomorrow|not now|no photo|don'?t have|can'?t|cannot|no)\b", re.I)
# Not \b at the end: a Chinese character is a word character too ("1500左右").
BARE_NUMBER = re.compile(r"^\D*?(\d[\d,]*(?:\.\d+)?)\s*(k)?(?![a-z\d])", re.I)
UNKNOWN = re.compile(
    r"\b(don'?t know|do not know|not sure|no idea|unknown|dunno|idk|no clue|can'?t remember)\b", re.I
)
# An answer to "what would you like us to do?" that asks for nothing in particular: not a wish.
NO_WISH = re.compile(
    r"^\W*(no|nope|nah|none|n/?a|nothing( really)?|not really|no idea|dunno|idk|i don'?t know|not sure|"
    r"whatever|anything|up to you|you decide|no thanks?)\W*$",
    re.I,
)
# Chinese: no number (没有单号, 单号忘了, 不知道), "later" for the photo, "I don't know", no wish, no phone.
NO_NUMBER_ZH = re.compile(
    r"(没有|没|木有|无)(单号|运单|号码|快递单|底单|单子)"
    r"|(单号|运单号?|号码|单子).{0,4}(忘|丢|找不到|没了|不记得|记不得|不知道|扔)"
    r"|^\W*(没有|没|木有|不知道|不清楚|忘了|忘记了|不记得了?|记不得了?|记不清了?|找不到了?)\W*$"
)
LATER_ZH = re.compile(
    r"稍后|晚点|晚些|等下|等会|等一下|一会|回头|过会|明天|以后|之后|下次|改天|现在没|现在不"
    r"|(没有|没|木有)(照片|图|拍)|拍不了|发不了|没法拍|不方便拍|^\W*(没有|没|不行|发不了)\W*$"
)
UNKNOWN_ZH = re.compile(r"不知道|不清楚|不确定|不记得|记不得|记不清|忘了|忘记了|说不准|没印象|不晓得|搞不清")
NO_WISH_ZH = re.compile(
    r"^\W*(不用了?|不用麻烦了|不需要了?|没有?|没什么(要求|想法|了)?|没啥(要求)?|无|都行|都可以|随便"
    r"|无所谓|你们?看着办吧?|看着办吧?|你们决定|不知道|不清楚|算了吧?)\W*$"
)
NO_PHONE_ZH = re.compile(
    r"(没有|没|木有|不知道|忘了|忘记|不记得|记不得)[^。？！,，]{0,3}(手机|电话|号码|联系方式)"
    r"|(手机|电话)[^。？！,，]{0,3}(忘|不记得|记不得|不知道|没有)"
)
BY_PHONE_ZH = re.compile(r"(用|按|凭|通过|拿)[^。？！,，]{0,3}(手机|电话)")
# A bare Chinese numeral as a value ("八百", "大概一千五"), with the hedges around it.
CHINESE_NUMERAL = re.compile(
    r"^\W*(大概|大约|约|差不多|估计|值|价值|总共|一共)?\s*([零〇一二两三四五六七八九十百千万]+)"
    r"\s*(元|块钱?|人民币)?\s*(左右|上下|吧|多)?\W*$"
)
# The wish recorded when the customer asked for nothing in particular.
UNSPECIFIED = "unspecified"

# Which field a correction talks about ("no, the number is wrong").
CORRECTION_FIELDS = (
    ("complaint_waybill", re.compile(r"\b(number|waybill|tracking|parcel id|shipment)\b", re.I)),
    ("complaint_value", re.compile(r"\b(value|worth|amount|price|cost|cny|yuan|rmb)\b", re.I)),
    ("complaint_when", re.compile(r"\b(when|date|day|time|yesterday|today)\b", re.I)),
    ("complaint_wants", re.compile(r"\b(want|refund|compensation|apology|redeliver\w*)\b", re.I)),
    ("complaint_extent", re.compile(r"\b(damaged|missing items|items|extent|what was)\b", re.I)),
    ("complaint_category", re.compile(r"\b(category|what happened|problem|type|kind)\b", re.I)),
)
CORRECTION_FIELDS_ZH = (
    ("complaint_waybill", re.compile(r"单号|运单|快递单")),
    ("complaint_value", re.compile(r"金额|价值|价格|多少钱|钱数|值多少|\d+\s*(元|块)")),
    ("complaint_when", re.compile(r"时间|日期|哪天|几号|昨天|今天|前天|上周")),
    ("complaint_wants", re.compile(r"要求|诉求|退款|赔偿|道歉|重新派送|补发")),
    ("complaint_extent", re.compile(r"损坏|坏了|少了|哪些东西|什么东西|程度")),
    ("complaint_category", re.compile(r"类型|类别|分类|什么问题|问题类型")),
)


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def parse_category(text: str) -> str | None:
    """A category from a story or a short answer ('it's broken', 'billing', 'late')."""
    found = read_signals(text).category
    if found:
        return found
    lowered = text.lower()
    if lowered.strip() in CATEGORIES:
        return lowered.strip()
    for category, words in CATEGORY_WORDS.items():
        if any(word in lowered for word in words):
            return category
    folded = _nfkc(text)
    for category, words in CATEGORY_WORDS_ZH.items():
        if any(word in folded for word in words):
            return category
    return None


def parse_wants(text: str) -> str:
    """The remedy the customer asks for, as a canonical value, their own words, or UNSPECIFIED."""
    folded = _nfkc(text).strip()
    if (
        NO_WISH.match(text.strip())
        or (UNKNOWN.search(text) and len(text.split()) <= 5)
        or NO_WISH_ZH.match(folded)
        or (UNKNOWN_ZH.search(folded) and len(folded) <= 8)
    ):
        return UNSPECIFIED
    found = read_signals(text).wants
    if found:
        return found
    lowered = text.lower()
    for wants, words in WANTS_WORDS.items():
        if any(word in lowered for word in words):
            return wants
    for wants, words in WANTS_WORDS_ZH.items():
        if any(word in folded for word in words):
            return wants
    return text.strip()[:200]


def parse_value(text: str) -> str | None:
    """A declared value in CNY as a plain decimal string, 'unknown', or None when unreadable."""
    amounts = read_signals(text).amounts
    if amounts:
        return str(max(amounts))
    match = BARE_NUMBER.match(_nfkc(text).strip())
    if match:
        try:
            value = Decimal(match.group(1).replace(",", ""))
        except InvalidOperation:
            return None
        if match.group(2):
            value *= 1000
        return str(value)
    numeral = CHINESE_NUMERAL.match(_nfkc(text))
    if numeral and (number := chinese_number(numeral.group(2))):
        return str(number)
    if UNKNOWN.search(text) or UNKNOWN_ZH.search(_nfkc(text)):
        return "unknown"
    return None


def parse_photo(text: str) -> str:
    """'later' for a deferral, otherwise 'received' (the agent checks the photo on the ticket)."""
    return "later" if LATER.search(text) or LATER_ZH.search(_nfkc(text)) else "received"


NO_PHONE = re.compile(
    r"\b(don'?t|do not|dont|no|not|haven'?t|can'?t|cannot)\b[^.?!]*\b(phone|mobile|cell|number)\b", re.I
)
BY_PHONE = re.compile(r"\b(by|with|using|via|through|from)\s+(my\s+|the\s+|a\s+)?(phone|mobile|cell)", re.I)


def says_no_phone(text: str) -> bool:
    """'I don't have the phone number', but not 'I lost my waybill, can you search by phone?'."""
    if NO_PHONE.search(text) and not BY_PHONE.search(text):
        return True
    folded = _nfkc(text)
    return bool(NO_PHONE_ZH.search(folded)) and not BY_PHONE_ZH.search(folded)


def says_no_number(text: str) -> bool:
    """'I don't have the number', 没有单号, 单号忘了, or a bare 不知道 to the question for it."""
    return bool(NO_NUMBER.search(text) or NO_NUMBER_ZH.search(_nfkc(text)))


def correction_fields(text: str) -> list[str]:
    """The form fields a correction mentions, in the order they are asked (English or Chinese)."""
    folded = _nfkc(text)
    return [
        slot
        for (slot, pattern), (_, chinese) in zip(CORRECTION_FIELDS, CORRECTION_FIELDS_ZH, strict=True)
        if pattern.search(text) or chinese.search(folded)
    ]


def says_unknown(text: str) -> bool:
    """'I don't know', 'not sure', 'no idea', 不知道, 不清楚: an honest answer that the fact is not known."""
    return bool(UNKNOWN.search(text) or UNKNOWN_ZH.search(_nfkc(text)))


def wants_text(wants: str | None, language: str = "en") -> str:
    """The wish in words; the customer's own words when it is none of ours."""
    if not wants:
        return t(language, "not said yet")
    if wants == UNSPECIFIED:
        return t(language, "nothing in particular (we will suggest what we can do)")
    return t(language, WANTS_TEXT[wants]) if wants in WANTS_TEXT else wants


def category_text(category: str | None, language: str = "en") -> str:
    return t(language, CATEGORY_TEXT.get(category or "other", CATEGORY_TEXT["other"]))


# The answer to a yes/no question is read from its first words, whatever follows ("yes, and nobody
# even told me!!", "no, the value is wrong"); the intent decides only when the words do not.
YES_FIRST = re.compile(
    r"^\W*(yes|yeah|yea|yep|yup|ya|yes please|sure|ok|okay|k|fine|alright|all right|correct|right|"
    r"exactly|absolutely|definitely|of course|please do|go ahead|agreed|i agree|i accept|accepted|"
    r"deal|sounds good|that'?s (right|correct|fine|ok|okay|good)|that works|works for me)(?![\w'])",
    re.I,
)
NO_FIRST = re.compile(
    r"^\W*(no|nope|nah|not really|not quite|not right|not correct|wrong|incorrect|"
    r"that'?s (wrong|not right|not correct|incorrect|not it|not enough)|i (don'?t|do not) accept|"
    r"i refuse|never)(?![\w'])",
    re.I,
)
# Chinese: a one-character yes (好, 对, 是, 行, 要) counts only on its own or before punctuation or a
# particle, so that 好慢 ("so slow") or 是我的 ("it's my ...") are not a yes.
YES_FIRST_ZH = re.compile(
    r"^\W*(是的|对的|好的|没错|没问题|可以|当然|同意|接受|确认|正确|需要|行的|好啊|好吧|ok"
    # 嗯 alone, or before a yes ("嗯，好的"); not 嗯……让我想想 ("hmm, let me think").
    r"|[嗯恩]+\W*(?=$|是|对|好|行|可以|没错)"
    r"|(是|对|好|行|要)(?=$|\W|的|啊|呀|吧|呢|滴|哈))",
    re.I,
)
NO_FIRST_ZH = re.compile(r"^\W*(不是|不对|不行|不要|不用|不需要|不可以|不接受|不同意|拒绝|算了|错了|不)")
YES_SIGNS = ("👍", "👌", "✅", "🆗", "🙆")
NO_SIGNS = ("👎", "❌", "🙅")
# "yes, but the date is wrong": a yes that goes on to name a field is a correction.
CONTRAST = re.compile(r"\b(but|except|however|although|though|apart from)\b|但是|但|不过|除了|只是|可是")
# A photo the shipper will not send (a promise needs a photo that is coming, even late).
NO_PHOTO = re.compile(
    r"\b(don'?t|do not|no|can'?t|cannot|won'?t|haven'?t|not|never)\b[^.?!]*\b(photo|picture|pic|image)",
    re.I,
)
NO_PHOTO_ZH = re.compile(r"(没有|没|不能|不会|不方便|没法|无法)[^。？！]{0,3}(照片|图|拍)|拍不了|发不了")
PHOTO_LATER = re.compile(r"\b(later|tomorrow|tonight|soon|when i can|afterwards?|in a (bit|while))\b", re.I)
PHOTO_LATER_ZH = re.compile(
    r"稍后|晚点|晚些|等下|等会|等一下|待会|一会|回头|过会|明天|以后|之后|下次|改天|马上"
)


def read_yes_no(text: str, intent: str | None = None) -> str | None:
    """'yes', 'no', or None for an answer that is neither, read from the first words, then the intent."""
    folded = _nfkc(text).strip()
    if YES_FIRST.match(folded) or YES_FIRST_ZH.match(folded) or folded.startswith(YES_SIGNS):
        return "yes"
    if NO_FIRST.match(folded) or NO_FIRST_ZH.match(folded) or folded.startswith(NO_SIGNS):
        return "no"
    if not re.search(r"\w", folded):
        # Only an emoji or punctuation ("🤔", "?"): the classifier's guess on it means nothing.
        return None
    # Otherwise the classifier's reading; a pressed button arrives as its payload ("/affirm").
    return {"affirm": "yes", "deny": "no"}.get(intent or "")


def after_yes_no(text: str) -> str:
    """What an answer adds after its yes or no ('' when it is only that)."""
    folded = _nfkc(text).strip()
    for pattern in (YES_FIRST, NO_FIRST, YES_FIRST_ZH, NO_FIRST_ZH):
        match = pattern.match(folded)
        if match:
            return folded[match.end() :].strip(" ,.!?;:，。！？；：、~-")
    return folded.lstrip("".join((*YES_SIGNS, *NO_SIGNS))).strip()


def has_contrast(text: str) -> bool:
    """'... but ...', 但是: the answer goes on to take something back."""
    return bool(CONTRAST.search(_nfkc(text)))


def promises_photo(text: str) -> bool:
    """'I will send a photo later', 等下发照片: a photo is coming (not 'I have no photo')."""
    folded = _nfkc(text)
    if not read_signals(text).photo_offered:
        return False
    refused = NO_PHOTO.search(folded) or NO_PHOTO_ZH.search(folded)
    return not refused or bool(PHOTO_LATER.search(folded) or PHOTO_LATER_ZH.search(folded))
