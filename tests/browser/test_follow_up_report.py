"""The monthly follow-up report in a real headless Chromium, in English and Chinese: the rating chart drawn
as SVG from the records, the CSV files downloaded as a reader gets them and equal to the page's tables and
the records, and an owner closing an open action with the "done" button.

The month (November 2012, the records of tests/backend/services/test_care_report.py) is written straight
into the running product's database; no other test uses it.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections import Counter
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from backend.db import make_engine, make_session_factory, session_scope
from backend.security.accounts import create_agent
from tests.backend.services.test_care_report import MONTH, Month, build_month, remove_month
from tests.browser.test_volume_pages import logged_in
from tools.stack import Stack

pytestmark = pytest.mark.e2e

URL = f"/console/reports/follow-up?month={MONTH}"


@pytest.fixture(scope="module")
def month(stack: Stack) -> Iterator[tuple[Month, dict[str, dict[str, str]]]]:
    """A supervisor and two agents (the owners) with the generated month; taken out afterwards."""
    engine = make_engine(stack.database_url)
    factory = make_session_factory(engine)
    people: dict[str, dict[str, str]] = {}
    with session_scope(factory) as session:
        for key, role in (("boss", "supervisor"), ("ann", "agent"), ("ben", "agent")):
            name, password = f"care-{key}-{secrets.token_hex(3)}", secrets.token_urlsafe(16)
            create_agent(session, username=name, password=password, role=role, display_name=key.title())
            people[key] = {"name": name, "password": password}
    built = build_month(factory, people["ann"]["name"], people["ben"]["name"])
    try:
        yield built, people
    finally:
        remove_month(factory, built)
        engine.dispose()


@pytest.fixture
def english(browser: Browser, stack: Stack, month: tuple[Month, dict[str, dict[str, str]]]) -> Iterator[Page]:
    yield from logged_in(browser, stack, month[1]["boss"], "en-GB")


@pytest.fixture
def chinese(browser: Browser, stack: Stack, month: tuple[Month, dict[str, dict[str, str]]]) -> Iterator[Page]:
    yield from logged_in(browser, stack, month[1]["boss"], "zh-CN")


@pytest.fixture
def owner(browser: Browser, stack: Stack, month: tuple[Month, dict[str, dict[str, str]]]) -> Iterator[Page]:
    yield from logged_in(browser, stack, month[1]["ann"], "en-GB")


def download(page: Page, link: str) -> tuple[list[str], list[list[str]]]:
    with page.expect_download() as started:
        page.get_by_role("link", name=link).click()
    raw = started.value.path().read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "no byte-order mark: Excel on a Chinese Windows reads GBK"
    header, *rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    return header, rows


def table(page: Page, selector: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in row.locator("td").all_inner_texts()] for row in page.locator(selector).all()
    ]


def chart(page: Page) -> dict[str, int]:
    svg = page.locator("svg#satisfaction-chart")
    expect(svg).to_be_visible()
    box = svg.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 100, "the chart is not drawn"
    bars = svg.locator("g.bar")
    return {
        str(bars.nth(i).get_attribute("data-label")): int(bars.nth(i).get_attribute("data-value") or -1)
        for i in range(bars.count())
    }


def test_the_report_draws_and_downloads_in_both_languages(
    english: Page, chinese: Page, stack: Stack, month: tuple[Month, dict[str, dict[str, str]]]
) -> None:
    generated, _ = month
    english.goto(stack.backend_url + "/console")
    english.get_by_role("link", name="Follow-up report").click()
    expect(english.get_by_role("heading", name="Monthly follow-up report")).to_be_visible()
    english.goto(stack.backend_url + URL)
    bars = chart(english)
    header, rows = download(english, "Download the follow-up records as CSV")
    assert header[:3] == ["Record", "Date", "Customer id"]
    assert {int(r[0]) for r in rows} == {generated.records[k] for k in ("r1", "r2", "r3", "r4", "r5")}
    assert rows == table(english, "#records-table tbody tr[data-record]")
    ratings = Counter(r[10] for r in rows if r[10])
    assert bars == {str(n): ratings.get(str(n), 0) for n in range(1, 6)}
    expect(english.locator("#satisfaction-overall")).to_contain_text("4 rating(s), mean 3.50 out of 5.")
    expect(english.locator('#drops-table tr[data-explained="no"]')).to_contain_text("Unexplained")

    chinese.goto(stack.backend_url + URL)
    expect(chinese.get_by_role("heading", name="月度回访总结报告")).to_be_visible()
    assert chart(chinese) == bars
    expect(chinese.locator('[data-theme="receiving"] h3')).to_contain_text("收货与仓库")
    header, rows_zh = download(chinese, "下载回访记录表（表格文件）")
    assert header[:3] == ["记录编号", "日期", "客户编号"]
    assert [r[0] for r in rows_zh] == [r[0] for r in rows]
    assert rows_zh == table(chinese, "#records-table tbody tr[data-record]")
    header, coverage = download(chinese, "下载回访覆盖率（表格文件）")
    assert header[0] == "回访活动"
    assert coverage == table(chinese, "#coverage-table tbody tr.coverage-line")
    assert sum(int(line[5]) for line in coverage) == 5 and sum(int(line[6]) for line in coverage) == 2


def test_the_owner_marks_an_open_action_done(
    owner: Page, stack: Stack, month: tuple[Month, dict[str, dict[str, str]]]
) -> None:
    generated, _ = month
    owner.goto(stack.backend_url + URL)
    expect(owner.locator(".owner-scope")).to_have_text("Your customers only.")
    action = owner.locator(f'#actions-table tr[data-record="{generated.records["r5"]}"]')
    expect(action).to_contain_text("Send the new price list")
    action.get_by_role("button", name="Done").click()
    expect(owner.locator(f'#actions-table tr[data-record="{generated.records["r5"]}"]')).to_have_count(0)
    assert owner.url.endswith(URL)
