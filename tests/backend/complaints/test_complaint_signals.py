"""Text signals: anger, threats, harm, amounts, category, wishes, false signatures."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest

from backend.complaints import signals
from backend.complaints.signals import TextSignals, describe_intensity, read_signals
from backend.complaints.signals.pipeline import pipeline
from backend.domain import CATEGORIES
from backend.i18n import phrase


def test_spacy_is_not_loaded_at_import() -> None:
    code = "import sys, backend.complaints; assert 'spacy' not in sys.modules, 'spacy imported eagerly'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_pipeline_is_built_once() -> None:
    signals.warm_up()
    first = pipeline()
    read_signals("again")
    assert pipeline() is first


def test_empty_text_is_calm_and_empty() -> None:
    s = read_signals("   ")
    assert s.anger == 0 and s.category is None and s.amounts == () and not s.legal_threat
    assert set(s.category_scores) == set(CATEGORIES)


@pytest.mark.parametrize(
    ("text", "anger"),
    [
        ("Hello, could you tell me where my parcel is?", 0),
        ("My parcel has not arrived yet, can you check please.", 0),
        ("I'm quite disappointed, the parcel is late.", 1),
        ("This is ridiculous!!! Where is my parcel", 1),
        ("Where is my parcel!!! This is ridiculous and unacceptable", 2),
        ("WHERE IS MY PARCEL!!! THIS IS UNACCEPTABLE", 2),
        ("You idiots lost my parcel", 2),
        ("WHERE IS MY PARCEL!!! THIS IS RIDICULOUS, the third time I call", 3),
        ("You incompetent idiots!!! This is UNACCEPTABLE, I'm SICK of it", 3),
        ("Third time I complain!!! Unacceptable and ridiculous, I will sue you", 3),
    ],
)
def test_anger(text: str, anger: int) -> None:
    assert read_signals(text).anger == anger


def test_anger_cues_explain_the_score() -> None:
    s = read_signals("WHERE IS MY PARCEL!!! YOU IDIOTS")
    assert s.anger == 3
    assert phrase("written in capitals") in s.anger_cues
    assert any("idiots" in c.text("en") for c in s.anger_cues)


def test_waybill_and_currency_codes_are_not_shouting() -> None:
    assert read_signals("Waybill EA100000034CN, I paid 180 RMB, CNY invoice please").anger == 0


@pytest.mark.parametrize(
    ("anger", "word"),
    [(0, "calm"), (1, "annoyed"), (2, "angry"), (3, "furious"), (7, "furious"), (-1, "calm")],
)
def test_describe_intensity(anger: int, word: str) -> None:
    assert describe_intensity(anger) == word


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("The goods cost 3000 yuan", ("3000",)),
        ("I paid ¥800 for it", ("800",)),
        ("that's RMB 1,200 gone", ("1200",)),
        ("invoice says CNY 450", ("450",)),
        ("CNY450 for 5 kg?", ("450",)),
        ("500 kuai for nothing", ("500",)),
        ("it was 2k rmb", ("2000",)),
        ("about 1.5k yuan", ("1500.0",)),
        ("3000元的花瓶", ("3000",)),
        ("3000yuan", ("3000",)),
        ("￥1200.50 please", ("1200.50",)),
        ("the vase is worth 400", ("400",)),
        ("goods valued at 2,500", ("2500",)),
        ("declared value of 650", ("650",)),
        ("I declared 3000 on the waybill", ("3000",)),
        ("I declared 5 kg, you charged 12 kg", ()),
        ("I have waited 3 days for 2 boxes", ()),
        ("worth 300 yuan, and I paid RMB 45 freight", ("300", "45")),
        ("¥800 ... I said ¥800!", ("800",)),
    ],
)
def test_amounts(text: str, amounts: tuple[str, ...]) -> None:
    assert read_signals(text).amounts == tuple(Decimal(a) for a in amounts)


@pytest.mark.parametrize(
    ("text", "legal"),
    [
        ("I will sue you", True),
        ("My lawyer will contact you", True),
        ("See you in court", True),
        ("I am going to take legal action", True),
        ("I'll complain to the consumer association", True),
        ("I will report you to the regulator", True),
        ("I'm calling 12315", True),
        ("complaint to the State Post Bureau", True),
        ("There is an issue with my parcel", False),
        ("Please send it to the courier station", False),
    ],
)
def test_legal_threat(text: str, legal: bool) -> None:
    assert read_signals(text).legal_threat is legal


@pytest.mark.parametrize(
    ("text", "injury"),
    [
        ("I cut my hand on the broken glass", True),
        ("my son was hurt by the falling box", True),
        ("she ended up in hospital", True),
        ("my finger is bleeding", True),
        ("the food made us sick", True),
        ("the price cut was not applied", False),
        ("the box is broken", False),
    ],
)
def test_injury(text: str, injury: bool) -> None:
    assert read_signals(text).injury is injury


@pytest.mark.parametrize(
    ("text", "safety"),
    [
        ("there was smoke coming from the box", True),
        ("the parcel caught fire in my hall", True),
        ("the chemicals leaked everywhere", True),
        ("the battery is leaking", True),
        ("a gas leak from the package", True),
        ("the juice box was leaking", False),
        ("you should fire him", False),
        ("the courier was rude", False),
    ],
)
def test_safety(text: str, safety: bool) -> None:
    assert read_signals(text).safety is safety


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # delay
        ("My parcel is late", "delay"),
        ("It's stuck in Wuhan since Monday", "delay"),
        ("It hasn't arrived yet", "delay"),
        ("I'm still waiting for my shipment", "delay"),
        ("where is my parcel? no update for days", "delay"),
        ("my parcel is delayd again", "delay"),
        # missed pickup
        ("Nobody came to collect my parcel", "missed_pickup"),
        ("The courier didn't come for the pickup at 2pm", "missed_pickup"),
        ("pickup missed, I waited all afternoon", "missed_pickup"),
        ("you never picked up my boxes", "missed_pickup"),
        # damage
        ("The vase arrived broken", "damage"),
        ("the box was crushed and the goods wet", "damage"),
        ("The goods arrived damgaed", "damage"),
        ("everything is brokn", "damage"),
        ("the fruit was spoiled", "damage"),
        ("the screen is cracked", "damage"),
        ("the can was dented and leaking", "damage"),
        # loss
        ("My parcel is lost", "loss"),
        ("Items missing from the box", "loss"),
        ("Only 2 of 3 boxes arrived", "loss"),
        ("short delivery: one carton short", "loss"),
        ("It never arrived, I've been waiting for weeks", "loss"),
        # wrong delivery
        ("It was delivered to the wrong address", "wrong_delivery"),
        ("they left it with my neighbour", "wrong_delivery"),
        ("It says delivered but I never got it", "wrong_delivery"),
        ("Someone else signed for my parcel", "wrong_delivery"),
        ("the app shows signed but I never received it", "wrong_delivery"),
        ("delivred to the wrong person", "wrong_delivery"),
        # billing
        ("I was overcharged", "billing"),
        ("You charged me twice", "billing"),
        ("The invoice is wrong", "billing"),
        ("the weight is wrong, I sent 5 kg", "billing"),
        ("the price is higher than the quote", "billing"),
        ("I was overchaged for my parcel", "billing"),
        # staff conduct
        ("The courier was rude to me", "staff_conduct"),
        ("the driver shouted at me", "staff_conduct"),
        ("he threw my parcel over the fence", "staff_conduct"),
        ("your staff's attitude is terrible", "staff_conduct"),
        ("the courier swore at me", "staff_conduct"),
        # nothing recognisable
        ("Hello there", None),
    ],
)
def test_category(text: str, category: str | None) -> None:
    assert read_signals(text).category == category


def test_negated_keyword_does_not_count() -> None:
    s = read_signals("The box is not damaged but two items are missing")
    assert s.category == "loss"
    assert s.category_scores["damage"] == 0


def test_typo_tolerance_does_not_swallow_real_words() -> None:
    s = read_signals("I managed to call the broker about the mission")
    assert s.category is None


@pytest.mark.parametrize(
    ("text", "wants"),
    [
        ("I want my money back", "refund"),
        ("please refund the freight", "refund"),
        ("just send it again", "redelivery"),
        ("please redeliver tomorrow", "redelivery"),
        ("compensate me for the vase", "compensation"),
        ("I expect compensation", "compensation"),
        ("I want an apology from the courier", "apology"),
        ("Just letting you know the box was wet", "report_only"),
        ("for your information, the courier was late", "report_only"),
        ("I need a replacement", "replacement"),
        ("send me a new one", "replacement"),
        ("I don't want an apology, I want my money back", "refund"),
        ("The parcel is late", None),
    ],
)
def test_wants(text: str, wants: str | None) -> None:
    assert read_signals(text).wants == wants


@pytest.mark.parametrize(
    ("text", "false_signature"),
    [
        ("I never signed for it", True),
        ("Someone else signed", True),
        ("the signature is forged", True),
        ("I never received it but it says signed", True),
        ("that's not my signature", True),
        ("It was delivered to my neighbour", False),
        ("I signed for it yesterday, but the box was crushed", False),
    ],
)
def test_false_signature(text: str, false_signature: bool) -> None:
    assert read_signals(text).false_signature is false_signature


def test_not_received_and_photo() -> None:
    s = read_signals("I haven't received it, here is a photo of the tracking page")
    assert s.not_received and s.photo_offered
    assert not read_signals("it arrived fine").not_received


def test_contractions_without_apostrophe() -> None:
    assert read_signals("it hasnt arrived yet").category == "delay"
    assert read_signals("I didnt get it but it says signed").false_signature


def test_signals_are_frozen_and_hashable() -> None:
    s = read_signals("The vase arrived broken, worth 400 yuan")
    with pytest.raises(AttributeError):
        s.anger = 3  # type: ignore[misc]
    again = read_signals("The vase arrived broken, worth 400 yuan")
    assert again is not s and again == s and hash(again) == hash(s)
    # Equal readings are one set member; the empty reading is another.
    assert len({s, again, TextSignals(), TextSignals()}) == 2
