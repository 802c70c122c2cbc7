"""The record's own words in Chinese: every place, scan, reason, note, goods and signer the seed can write.

The seed's plans are read without a database (demo_shipments, random_shipments with the seed's own
random generator), so a new city, scan sentence or reason in the seed fails here until the gazetteer
or the catalog has its Chinese.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from backend.domain import EventView
from backend.record_words import _reason, place_text, record_text, scan_text, signer_text
from backend.seed import RANDOM_SEED, demo_shipments, random_customers, random_shipments
from backend.seed.plans import demo_customers
from tests.text_checks import latin_words

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 25)
PERSON_SIGNERS = {"Li Wei", "Zhao Hong", "Chen Jie"}


def seeded_plans() -> list[Any]:
    rng = random.Random(RANDOM_SEED)
    customers = [c[0] for c in demo_customers()] + [c[0] for c in random_customers(rng)]
    plans = demo_shipments(TODAY, TZ)
    plans.update(random_shipments(rng, customers, TODAY, TZ))
    return list(plans.values())


PLANS = seeded_plans()
PLACES = sorted(
    {p.facts["origin"] for p in PLANS}
    | {p.facts["destination"] for p in PLANS}
    | {e["location"] for p in PLANS for e in p.events}
)
WORDS = sorted(
    {
        p.facts[name]
        for p in PLANS
        for name in ("delay_reason", "exception_reason", "courier_note", "goods_description")
        if p.facts[name]
    }
)
SIGNERS = sorted({p.facts["signed_by"] for p in PLANS if p.facts["signed_by"]})
SCANS = sorted({(e["code"], e["location"], e["description"]) for p in PLANS for e in p.events})


def test_the_seed_writes_many_records() -> None:
    assert len(PLANS) > 300 and len(PLACES) > 40 and len(SCANS) > 60


@pytest.mark.parametrize("name", PLACES)
def test_every_place_the_seed_writes_is_in_the_gazetteer(name: str) -> None:
    said = place_text(name, "zh")
    assert said != name and latin_words(said) == [], (name, said)
    assert place_text(name, "en") == name


@pytest.mark.parametrize("text", WORDS)
def test_every_reason_note_and_goods_the_seed_writes_has_chinese(text: str) -> None:
    said = record_text(text, "zh")
    assert said != text and latin_words(said) == [], (text, said)
    assert record_text(text, "en") == text


@pytest.mark.parametrize("name", SIGNERS)
def test_signer_roles_are_translated_and_names_kept(name: str) -> None:
    said = signer_text(name, "zh")
    if name in PERSON_SIGNERS:
        assert said == name
    else:
        assert said != name and latin_words(said) == [], (name, said)


@pytest.mark.parametrize(("code", "location", "description"), SCANS)
def test_every_scan_the_seed_writes_is_read_as_a_whole(code: str, location: str, description: str) -> None:
    """Read by a scan sentence, not only said from its code: nothing of the scan is lost in Chinese."""
    said = _reason(description, "zh")
    assert said is not None and latin_words(said) == [], description


def scan(description: str, code: str = "held", location: str = "Wuhan hub") -> EventView:
    return EventView(datetime(2026, 11, 24, 1, tzinfo=timezone.utc), location, code, description)


def test_places_are_read_word_by_word() -> None:
    assert place_text("Wuhan hub", "zh") == "武汉转运中心"
    assert place_text("Haikou Xiuying port", "zh") == "海口秀英港"
    assert place_text("Guangzhou Tianhe delivery station", "zh") == "广州天河派送站"
    assert place_text("Chongqing hub", "zh") == "重庆转运中心"
    assert place_text("Lhasa", "zh") == "Lhasa"  # unknown: as stored
    assert place_text("Lhasa hub", "zh") == "Lhasa hub"


def test_a_scan_no_sentence_reads_is_said_from_its_code() -> None:
    assert (
        scan_text(scan("Held at Wuhan hub: capacity shortage"), "en")
        == "Held at Wuhan hub: capacity shortage"
    )
    assert scan_text(scan("Still held at Wuhan hub: capacity shortage on the Beijing linehaul"), "zh") == (
        "仍暂扣在武汉转运中心：发往北京的干线运力不足"
    )
    # A reason the catalog does not know: the whole scan is said from its code and place.
    assert scan_text(scan("Held at Wuhan hub: a strike of the drivers"), "zh") == "暂扣在武汉转运中心"
    assert scan_text(scan("Something new", code="arrived_hub", location="Zhengzhou hub"), "zh") == (
        "已到达郑州转运中心"
    )
    assert scan_text(scan("Something new", code="new_code", location="Lhasa"), "zh") == "已在Lhasa扫描"


def test_a_reason_not_in_the_catalog_is_shown_as_stored() -> None:
    assert record_text("Road closed by a landslide", "zh") == "Road closed by a landslide"
    assert record_text("Recipient refused the delivery", "zh") == "收件人拒收"
    assert record_text("capacity shortage on the Beijing linehaul.", "zh") == "发往北京的干线运力不足"
