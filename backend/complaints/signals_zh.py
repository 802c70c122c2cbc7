"""Read a Simplified Chinese complaint: category cues, anger, threats, harm, money and wishes.

Why rules over the characters and not a spaCy pipeline: `spacy.blank("zh")` works offline, but only
with its default character segmenter (jieba and pkuseg need downloads), so every token is one
character and a phrase rule over tokens is the same as a pattern over the text, with more machinery.
Chinese has no spaces and no inflection to tolerate, and shippers mix Latin waybills and English words
into it, so plain regular expressions over the NFKC-folded text are the robust reader here: they see
"我的快递EA100000034CN还没到" and "签收了但没收到" the same whatever surrounds them.

How it reads (`read_chinese`, called by `signals.read_signals` for any text with Chinese in it):

* A few chat spellings are folded first (木有 → 没有, 肿么 → 怎么, 神马 → 什么).
* Each rule is one regular expression with a weight for a category; a rule counts once however often
  it fires, and a rule marked negatable is ignored when a negation stands just before it ("没有破损"
  is not damage, "不用道歉" is not a wish for an apology). The negation window stops at punctuation
  and at 但/可/却.
* Anger comes from a lexicon of mild, moderate and strong words, repetition ("又", "第三次") and
  threats to leave or post a bad review; the scoring is the English one (`signals._anger`).
* Money is a number with a currency (800元, 3000块, ¥1,200), after a value cue (货值3000, 赔我五百), or
  a round amount in thousands (1.2万, 三千); Chinese numerals are read, colloquial ones too (一千五 is
  1500, 一万二 is 12000). A number followed by a unit that is not money (5公斤, 3天, 2件) is not money.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

# CJK Unified Ideographs and Extension A.
CHINESE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")

_CHAT_SPELLINGS = (
    ("木有", "没有"),
    ("米有", "没有"),
    ("肿么", "怎么"),
    ("神马", "什么"),
    ("虾米", "什么"),
    ("介个", "这个"),
    ("啦", "了"),  # 坏啦, 丢啦: a particle, the same as 了 here
)

# A negation right before a negatable rule (at most one character between: "没有破损", "不是很凶"), so
# "不小心摔坏了" is still damage. Punctuation and 但/可/却 end the negation's reach. A question of the
# form "是不是丢了", "有没有坏" asks; it does not deny.
_NEGATION = re.compile(
    r"(?<![是有])(没有|没|未|无|不是|不用|不要|不需要|不想|不必|别|并非|不)[^，,。.!！?？;；\s但可却]?$"
)
_WINDOW = 4
# "Never arrived": a late parcel, or a lost one after weeks (with a long wait, see "long_wait").
_NEVER_ARRIVED = r"一直没到|始终没到|根本没到|从来没到|一直没收到|一直都没到|始终没收到"

# (category, weight, negatable, patterns): each pattern is one rule.
_CATEGORY_RULES: tuple[tuple[str, float, bool, tuple[str, ...]], ...] = (
    (
        "delay",
        1.0,
        True,
        (
            r"延误|延迟|耽误|耽搁",
            r"(?<!慢)慢(?!慢)|龟速|蜗牛",
            r"晚到|晚了|迟到|迟了|到晚了|送晚了|太晚",
        ),
    ),
    (
        "delay",
        2.0,
        False,
        (
            r"还没到|怎么还没到|咋还没到|还没有到|还不到|怎么没到|咋没到|还没送到|还没送来|还没来",
            r"(?<![收还])(?<!一直)(?<!始终)(?<!根本)(?<!从来)没到|没有到|迟迟(不|没|未)|还么到",
            r"(一直|还|都)没(人)?(送|派送|派件|配送)",
            r"还没收到|还没有收到|还没拿到",
            r"到哪了|到哪儿了|到哪里了|到那了|到那里了|在哪里?|在哪儿|哪去了|去哪了",
            r"什么时候(能|才|会)?(到|送到|送达|派送)|啥时候(能|才|会)?到|几时(能)?到|多久(能|才)?到|何时(能|才)?到",
            r"卡在|卡住|卡了|停在|滞留|不动了|没动|一动不动|压在",
            r"(没有|没|不)更新|物流(信息)?(没|不)(变|动)|没有(物流|扫描|记录|信息)|没(物流|扫描)",
            r"说好.{0,8}(到|送达|送到)|承诺.{0,6}(到|送达)|超时|过了.{0,4}(时间|日期|期限|时效)",
            r"等了.{0,4}(天|周|星期|礼拜)|等到现在|催(一下|件|了|下)",
        ),
    ),
    ("delay", 0.5, False, (_NEVER_ARRIVED,)),
    ("loss", 1.5, False, (_NEVER_ARRIVED,)),
    ("missed_pickup", 1.0, False, (r"取件(?!码)|揽收|上门取|预约.{0,4}(取|上门)",)),
    (
        "missed_pickup",
        3.0,
        False,
        (
            r"没人(来)?(取|拿|收|上门|揽收)|没有人(来)?(取|拿|上门|揽收)",
            r"(没|没有|未|不)(来)?(取件|揽收|取货|上门)|没来(取|拿|收)",
            r"揽收失败|取件失败|上门失败",
            r"(取件|揽收|上门).{0,8}(没来|没有来|不来|没人|没到|放鸽子|爽约)",
            r"快递员.{0,4}(没来|没有来|不来|放鸽子|爽约)|放(我)?鸽子|爽约",
        ),
    ),
    (
        "damage",
        1.5,
        True,
        (
            r"破损|损坏|损伤|坏了|坏掉|弄坏|搞坏|磕坏|撞坏",
            r"摔坏|压坏|压扁|压烂|压变形|挤坏|挤扁|砸坏",
            r"碎了|碎掉|打碎|摔碎|压碎|粉碎|裂了|裂开|开裂|破了|破掉|破洞|烂了|(?<!腐)烂掉|稀巴烂",
            r"(压|摔|挤|砸|弄)得.{0,3}(烂|扁|碎|变形|不成样)",
            r"湿了|淋湿|泡水|进水|受潮|湿透|漏了|漏液|洒了|撒了",
            r"变质|腐烂|发霉|化了|融化|坏的",
            r"划痕|刮花|划花|刮伤|掉漆|凹了|凹陷|变形",
            r"(外)?包装(破|烂|坏)|箱子(破|烂|坏)|盒子(破|烂|坏)",
        ),
    ),
    ("loss", 2.5, True, (r"丢了|丢失|弄丢|搞丢|遗失|不见了|找不到了|没影了", r"被偷|偷了|被盗")),
    (
        "loss",
        3.0,
        False,
        (
            r"少了|少件|缺件|缺了|漏发|少发|丢件|少(一|两|二|三|几|\d)(件|箱|个|样|包|瓶|盒)",
            r"只(收到|到了|到|有)了?(\d+|[一二两三四五六七八九十])(件|箱|个|包|盒|瓶|样)",
            r"(东西|货|物品|零件|配件)(不全|不齐)",
        ),
    ),
    (
        "wrong_delivery",
        3.5,
        False,
        (
            r"送错|寄错|派错|投错|放错|发错地址|地址(错|不对)|错(的)?地址",
            r"(送|放|给|交)(到|给|在)?了?(别人|邻居|隔壁|对面|旁边|别家|其他人)",
            r"邻居(家)?(那|签|收)|隔壁(楼|栋|家|单元|小区)",
            r"别人签收|被别人签|别人签(了|的)|他人签收|被人签收",
            r"冒签|冒名签收|代签|假签|伪造签(名|字)",
        ),
    ),
    (
        "billing",
        1.0,
        False,
        # Not "退运费" (a refund of the freight is a wish, not a billing dispute).
        (r"收费|(?<!退)运费(?!退)|(?<!退)费用(?!退)|价格|价钱|账单|扣费|扣款|报价|计费|多少钱|发票|结算",),
    ),
    (
        "billing",
        3.0,
        False,
        (
            r"多收|多扣|乱收费|收费(不对|有问题|不合理|错了)|收错|算错|扣错|收贵了",
            r"重量(不对|有问题|错了|不符)|称重(不对|有问题|错了)|称错|(多|虚)算.{0,2}(重量|公斤)",
            r"收了两次|扣了两次|重复(扣|收)|扣(我)?两次",
            r"比(报价|说好的|谈好的|约定的)(高|贵|多)|跟报价不|和报价不|与报价不|价格不对|账单(不对|有问题|错)",
        ),
    ),
    (
        "staff_conduct",
        3.0,
        True,
        (
            r"态度(差|不好|很差|太差|极差|恶劣|很不好|非常差|差劲|有问题|很凶|蛮横|嚣张)|服务态度",
            r"骂人|骂我|骂了|凶我|很凶|好凶|太凶|吼我|吼人|冲我(喊|吼|发火)|大吼|不耐烦|爱答不理|爱理不理",
            r"(摔|扔|丢|踢|抛)(我的|了我的)?(快递|包裹|件|东西|箱子)|乱扔|乱丢|暴力分拣",
            # 把 before the object ("把我的快递扔在地上"); not 丢, which is also "lost" (把快递丢了).
            r"把(我的|我们的)?(快递|包裹|件|东西|箱子|货).{0,2}(摔|扔|踢|抛|砸)",
            r"挂(我|了我的)?电话|不礼貌|没礼貌|粗鲁|没素质|威胁我",
        ),
    ),
)

_WANT_RULES: dict[str, tuple[str, ...]] = {
    "refund": (
        r"退款|退钱|退费|退运费|退回运费|(钱|运费|费用|款)退(给|回|还)|退(给|还)我|返还|返钱|钱还给我",
    ),
    "compensation": (r"赔偿|赔钱|赔我|索赔|理赔|赔付|赔一下|照价赔|包赔",),
    "redelivery": (r"重新(派送|配送|送|投递|派件)|再送一次|再送一趟|再派送|再派一次|重送|重派",),
    "apology": (r"道歉|道个歉|赔礼|赔个不是|说声对不起",),
    "replacement": (r"补发|换一个|换个新的|换新|重新(寄|发)一个|再发一个|再寄一个",),
    "report_only": (
        r"反映一下|反馈一下|只是说一下|说一下而已|跟你们说一声|和你们说一声|告诉你们一声|告诉你们一下|提个(意见|醒)",
        r"不用处理|不需要处理|不用管|不用做什么|就是反馈|只是反馈|只是想说",
    ),
}

_FLAG_RULES: dict[str, tuple[str, ...]] = {
    "false_signature": (
        r"冒签|冒名签收|代签|假签|伪造签(名|字)|签名是假|不是我签|我没签|我没有签|我根本没签|从来没签|没有签收过",
        r"私自签收|擅自签收|签收人不是我|不是本人签收|没经过我(的)?同意.{0,4}签",
        r"别人签收|别人签(了|的)|被别人签|他人签收|谁签(的|收)",
    ),
    "not_received": (r"没收到|没有收到|未收到|没拿到|没有拿到|收不到|没见到|没看到(快递|包裹|东西)",),
    "delivered_status": (
        r"(显示|写着|物流|状态|系统|app|APP).{0,6}(签收|送达|妥投|派送成功|已送到)|已签收|已经签收|已送达|已妥投",
    ),
    "photo": (r"照片|图片|拍了|拍照|截图|视频|附图|发图|上图|看图",),
    "never_arrived": (_NEVER_ARRIVED,),
    "long_wait": (r"(几|两|三|四|好几|\d+)(个)?(星期|周|礼拜)|(一|两|三|几|半|\d+)个(多)?月|半个月",),
}
# The shipment is said to be signed for (with "not received": a false signature, as in English).
_SIGNED = re.compile(r"签收了|已签收|已经签收|被签收|显示签收|签了|签的|签名|签字")

# The anger lexicon: the labels and weights are the English lexicon's (signals._anger).
_ANGER: dict[str, tuple[str, ...]] = {
    "strong": (
        r"垃圾|骗子|骗钱|混蛋|王八蛋|废物|狗屁|无耻|脑残|智障|黑心|流氓|强盗|土匪|人渣|畜生",
        r"他妈的?|妈的|tmd|TMD|nmd|尼玛|草泥马|卧槽|我操|操你|傻逼|傻B|傻b|(?<![A-Za-z])(SB|sb)(?![A-Za-z])|滚蛋|去死",
    ),
    "moderate": (
        r"什么破|啥破|破快递|破公司",
        r"气死|太过分|过分了|离谱|坑人|坑爹|太坑|受不了|忍无可忍|岂有此理|不像话|太差劲|差劲|太烂|烂透|恶心",
        r"搞什么鬼|搞什么|什么玩意|什么东西啊|欺负人|不要脸|耍我|忽悠|火大|愤怒|恼火|荒唐|无法接受|不能接受",
    ),
    "mild": (
        r"无语|失望|不满意|不满|郁闷|不爽|心累|烦死|好烦|很烦|着急|服务差|不太好|有点差|太差|很差|真差",
    ),
    "repeat": (
        r"(?<![有称快])又(?!称|名|快又)|再次|一次又一次|三番五次|反复",
        r"第[二三四五六七八九十2-9]次|多次|好几次|几次了|每次都|(催|打|问|投诉)了(好)?几次",
        r"一直没人(管|理|回|处理|接)|没人(管|理我|回复|处理|接电话)|已经投诉过|之前投诉过|上次(就|也)",
    ),
    "threat": (
        r"再也不(用|会用|寄|找)|以后不(用|寄|找)你们|换(一)?家|换(个)?快递|换别(的|家)",
        r"差评|给你们差评|发(微博|朋友圈|抖音|小红书)|投诉你们|告诉所有人",
    ),
}

_LEGAL = re.compile(
    r"律师|起诉|告你们|告到|法院|打官司|法律(途径|程序|责任|手段)|走法律|(?<!\d)12315(?!\d)|(打|找|去|向)315"
    r"|消费者协会|消协|邮政(管理)?局|国家邮政|邮管局|市场监管|工商局|报警|警察|仲裁|曝光|媒体|记者|电视台"
)
# A cut or a graze is an injury when a person or a body part is hurt, not a scratched screen (手机 is
# not a hand).
_BODY_PART = r"(手(?![机续表动工提套柄环链])|脚|腿|胳膊|手指|手掌|脸|眼睛|眼|额头|皮肤|身上)"
_PERSON = r"(我|孩子|儿子|女儿|老人|老婆|老公|家人|宝宝|小孩|快递员)"
_HURT = r"(划|割|扎|刮|砸|烫|弄|碰)"
_INJURY = re.compile(
    r"受伤|受了伤|伤到|流血|出血|血流|医院|住院|看医生|急诊|缝针|骨折|中毒|过敏|烫伤|烧伤|砸伤|咬伤"
    rf"|{_BODY_PART}.{{0,2}}{_HURT}(伤|破|出血)|{_PERSON}(的{_BODY_PART})?被.{{0,6}}{_HURT}伤"
    rf"|{_HURT}(伤|破)了?(我的|他的|她的|孩子的)?{_BODY_PART}|把{_PERSON}的?{_BODY_PART}?{_HURT}伤"
)
_SAFETY = re.compile(
    r"着火|起火|失火|冒烟|烟雾|爆炸|自燃|火花|燃气|煤气|液化气|漏气|化学品|有毒|毒气|腐蚀|易燃|危险品|烧焦|焦味|辐射"
    r"|(电池|锂电|化学|汽油|柴油|酒精|硫酸|盐酸).{0,4}(漏|泄漏|鼓包|膨胀|冒烟)|鼓包"
)

# Money.
_DIGITS = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_CN_NUMERAL = "零〇一二两三四五六七八九十百千万"
_AMOUNT = re.compile(
    rf"(?P<pre>¥|\$|人民币|(?i:rmb|cny))?\s*"
    rf"(?:(?<![\d.,])(?P<num>{_DIGITS})\s*(?P<mult>[千万kKwW](?![A-Za-z]))?|(?P<cn>[一二两三四五六七八九十][{_CN_NUMERAL}]*))"
    r"\s*(?:多|余|来)?(?P<post>块钱|块|元|圆|(?i:rmb|cny|yuan|kuai)(?![A-Za-z])|人民币)?"
)
_VALUE_CUE = re.compile(
    r"(价值|货值|值|保价|声明价值|申报价值|申报|报价|赔偿?|退|花了|付了|买的|原价|损失|总价|货款|价格|收了|收我|扣了|扣我)"
    r"(是|为|了|约|大概|大约|将近|差不多|近|超过|共|一共|总共|我|都|给我|足足|整整|有){0,3}\s*[:：]?\s*$"
)
_NOT_MONEY_AFTER = re.compile(
    r"\s*(公斤|千克|kg|KG|Kg|克|斤|吨|件|个|箱|包|天|小时|分钟|米|公里|次|单|号|瓶|盒|袋|台|份|cm|厘米|%|年|月|日|点|周|岁|楼|栋|层|多(天|件|个|箱|小时|公斤))"
)
# After a bare round amount ("1.2万", "三千"), what may follow: the end, punctuation, Latin, or these.
_AFTER_BARE = re.compile(r"$|[^\u3400-\u9fff]|多|左右|来|的|呢|啊|吧|了|呀|啦|哦")
_MULTIPLIER = {"千": 1000, "k": 1000, "K": 1000, "万": 10000, "w": 10000, "W": 10000}
_CN_DIGIT = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000, "万": 10000}


@dataclass
class ChineseReading:
    """What the Chinese rules found; `signals` merges it with the English reading of the same text."""

    scores: dict[str, float] = field(default_factory=dict)
    wants: list[tuple[int, str]] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    signed: bool = False
    legal: bool = False
    injury: bool = False
    safety: bool = False
    # (start, end, amount) in the text's own offsets.
    amounts: list[tuple[int, int, Decimal]] = field(default_factory=list)
    # Anger cues by lexicon label (strong, moderate, mild, repeat, threat).
    anger: dict[str, set[str]] = field(default_factory=dict)


def has_chinese(text: str) -> bool:
    return CHINESE.search(text) is not None


def _compiled(rules: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(rule) for rule in rules)


_CATEGORY_PATTERNS = tuple(
    (category, weight, negatable, _compiled(rules)) for category, weight, negatable, rules in _CATEGORY_RULES
)
_WANT_PATTERNS = {want: _compiled(rules) for want, rules in _WANT_RULES.items()}
_FLAG_PATTERNS = {flag: _compiled(rules) for flag, rules in _FLAG_RULES.items()}
_ANGER_PATTERNS = {label: _compiled(rules) for label, rules in _ANGER.items()}


def _fold_chat(text: str) -> str:
    """Chat spellings as the standard words; each keeps its length, so offsets stay the text's."""
    for chat, standard in _CHAT_SPELLINGS:
        text = text.replace(chat, standard)
    return text


def _negated(text: str, start: int) -> bool:
    return _NEGATION.search(text[max(0, start - _WINDOW) : start]) is not None


def _first_unnegated(pattern: re.Pattern[str], text: str, negatable: bool) -> int | None:
    """Where the rule first fires without a negation before it, or None."""
    for match in pattern.finditer(text):
        if not (negatable and _negated(text, match.start())):
            return match.start()
    return None


def read_chinese(text: str) -> ChineseReading:
    """The Chinese rules over NFKC-folded text (the caller folds it; offsets are the text's)."""
    text = _fold_chat(text)
    reading = ChineseReading()
    for category, weight, negatable, patterns in _CATEGORY_PATTERNS:
        for pattern in patterns:
            if _first_unnegated(pattern, text, negatable) is not None:
                reading.scores[category] = reading.scores.get(category, 0.0) + weight
    for want, patterns in _WANT_PATTERNS.items():
        for pattern in patterns:
            at = _first_unnegated(pattern, text, negatable=want != "report_only")
            if at is not None:
                reading.wants.append((at, want))
    for flag, patterns in _FLAG_PATTERNS.items():
        if any(p.search(text) for p in patterns):
            reading.flags.add(flag)
    reading.signed = _SIGNED.search(text) is not None
    reading.legal = _LEGAL.search(text) is not None
    reading.injury = _INJURY.search(text) is not None
    reading.safety = _SAFETY.search(text) is not None
    reading.amounts = _amounts(text)
    reading.anger = _anger_cues(text)
    return reading


def _anger_cues(text: str) -> dict[str, set[str]]:
    """The lexicon's words in the text by label; overlapping finds count once, the longest."""
    found = [
        (match.start(), match.end(), label)
        for label, patterns in _ANGER_PATTERNS.items()
        for pattern in patterns
        for match in pattern.finditer(text)
        if not (label == "moderate" and _negated(text, match.start()))  # "不过分", "不离谱"
    ]
    cues: dict[str, set[str]] = {}
    taken_until = -1
    for start, end, label in sorted(found, key=lambda f: (f[0], f[0] - f[1])):
        if start < taken_until:
            continue
        taken_until = end
        cues.setdefault(label, set()).add(text[start:end])
    return cues


def chinese_number(numeral: str) -> int | None:
    """A Chinese numeral as an integer: 三千 3000, 两千五百 2500, 一千五 1500, 一万二 12000, 十五 15."""
    if (
        not numeral
        or numeral[0] in "百千万"
        or any(c not in _CN_DIGIT and c not in _CN_UNIT for c in numeral)
    ):
        return None
    total = section = digit = 0
    last_unit = 0
    previous = ""
    for char in numeral:
        if char in _CN_DIGIT:
            digit = _CN_DIGIT[char]
        else:
            unit = _CN_UNIT[char]
            if unit == 10000:
                total += (section + digit) * unit
                section = 0
            else:
                section += (digit or (1 if unit == 10 else 0)) * unit
            digit = 0
            last_unit = unit
        previous = char
    if digit and last_unit >= 100 and previous in _CN_DIGIT and numeral[-2:-1] in _CN_UNIT:
        digit *= last_unit // 10  # colloquial: 一千五 is one thousand five hundred
    value = total + section + digit
    return value or None


def _amounts(text: str) -> list[tuple[int, int, Decimal]]:
    found: list[tuple[int, int, Decimal]] = []
    for match in _AMOUNT.finditer(text):
        value, round_amount = _value(match)
        if value is None:
            continue
        currency = match.group("pre") or match.group("post")
        after = text[match.end() :]
        if not match.group("post") and _NOT_MONEY_AFTER.match(after):
            continue
        # A value cue makes a plain number money ("货值3000"), but not a small one ("不值一提").
        cued = value >= 10 and _VALUE_CUE.search(text[max(0, match.start() - 10) : match.start()]) is not None
        bare = round_amount and _AFTER_BARE.match(after) is not None
        if currency or cued or bare:
            found.append((match.start(), match.end(), value))
    return found


def _value(match: re.Match[str]) -> tuple[Decimal | None, bool]:
    """The amount of one number match, and whether it is a round amount in thousands or more."""
    if match.group("cn"):
        number = chinese_number(match.group("cn"))
        if number is None:
            return None, False
        return Decimal(number), ("千" in match.group("cn") or "万" in match.group("cn"))
    try:
        value = Decimal(match.group("num").replace(",", ""))
    except InvalidOperation:
        return None, False
    mult = match.group("mult")
    if mult:
        value *= _MULTIPLIER[mult]
    return (value if value > 0 else None), bool(mult)
