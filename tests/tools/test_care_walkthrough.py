"""`make screenshots`' care walkthrough: the pictures the README's care section shows, who looks at each,
and a scenario that the demo data makes true."""

from __future__ import annotations

import re
from pathlib import Path

from backend.phones import normalise_phone
from backend.seed.data import demo_data
from backend.waybill import find_in_text
from tools.care_walkthrough import (
    CALL,
    CARE_ANSWERS,
    CUSTOMER,
    PAGES,
    SHIPPER_LINES,
)
from tools.screenshots import AGENT, SUPERVISOR

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DEMO = demo_data()
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_the_readme_shows_exactly_the_walkthroughs_pictures_in_order() -> None:
    shown = re.findall(r"!\[[^\]]*\]\(docs/(care-[a-z-]+\.png)\)", README)
    assert shown == [page.file for page in PAGES]
    assert "tools/care_walkthrough.py" in README
    assert [page.viewer for page in PAGES] == [SUPERVISOR, AGENT, SUPERVISOR, SUPERVISOR]


def test_the_shipper_proves_the_demo_customers_account_with_its_own_waybill_and_phone() -> None:
    customers = {c["id"]: c for c in DEMO["customers"]}
    assert customers[CUSTOMER]["class"] == "A"  # an A-class campaign reaches them
    found = [find_in_text(line) for line in SHIPPER_LINES]
    waybills = [check.value for check in found if check is not None and check.status == "valid"]
    assert waybills and all(DEMO["shipments"][w]["customer_id"] == CUSTOMER for w in waybills)
    phones = {normalise_phone(p) for line in SHIPPER_LINES for p in re.findall(r"1\d{10}", line)}
    assert phones == {customers[CUSTOMER]["phone"]}
    assert all(CJK.search(line) for line in SHIPPER_LINES)


def test_the_answers_and_the_call_are_what_the_follow_up_takes() -> None:
    rating, suggestion = CARE_ANSWERS
    assert rating in {"1", "2", "3", "4", "5"} and CJK.search(suggestion)
    assert CALL["satisfaction"] in {"1", "2", "3", "4", "5"}
    assert all(CJK.search(CALL[field]) for field in ("comment", "suggestions", "next_step"))


def test_the_walk_never_waits_for_the_morning_nor_uses_a_telegram_token_or_a_downloaded_browser() -> None:
    # start_product starts the whole product, so its settings are read from the source here.
    source = (ROOT / "tools" / "care_walkthrough.py").read_text(encoding="utf-8")
    assert '"QUIET_HOURS": "off"' in source and '"TELEGRAM_MODE": "off"' in source
    assert "executable_path=str(CHROMIUM)" in source
