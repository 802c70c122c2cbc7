"""The volume watch and the weekly shipment statistics in a real headless Chromium, in both languages:
the sparkline and the weekly chart as Chart.js drew them, the care call's note, the CSV Excel opens.

A customer's shipments are written straight into the running product's database in weeks no other test
uses (2034-W06 to W10); the watch is run on the last of them as the weekly job would.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from backend.db import make_engine, make_session_factory, session_scope
from backend.models import Customer, Shipment
from backend.security.accounts import create_agent
from backend.services import volume_watch as vw
from backend.waybill import make_waybill
from tests.browser.conftest import watch_content_policy
from tools.stack import Stack

pytestmark = pytest.mark.e2e

TZ = ZoneInfo("Asia/Shanghai")
WEEK = vw.Week(2034, 10)
PER_WEEK = [10, 12, 8, 10, 2]


@pytest.fixture(scope="module")
def setting(stack: Stack) -> dict[str, str]:
    """A supervisor and a customer whose 2034-W10 fell from a mean of 10 to 2, flagged."""
    name, password = f"watch-{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    cid = f"VB{secrets.randbelow(10**6):06d}"
    engine = make_engine(stack.database_url)
    try:
        factory = make_session_factory(engine)
        with session_scope(factory) as session:
            create_agent(session, username=name, password=password, role="supervisor", display_name="Boss")
            session.add(Customer(id=cid, name="Hechi Silk Co", customer_class="A"))
            session.flush()
            serial = 34_100_000
            for back, count in enumerate(reversed(PER_WEEK)):
                friday = WEEK.shift(-back).start(TZ) + timedelta(days=4, hours=11)
                for n in range(count):
                    serial += 1
                    session.add(
                        Shipment(
                            waybill=make_waybill("EW", serial),
                            customer_id=cid,
                            origin="Nanning",
                            destination="广西壮族自治区柳州市" if n % 2 else "Shenzhen",
                            status="delivered",
                            freight_amount=Decimal("40.00"),
                            created_at=friday + timedelta(minutes=n),
                        )
                    )
        with session_scope(factory) as session:
            found = vw.watch(session, WEEK, tz=TZ, weeks=4, drop_share=0.3, min_shipments=8)
            assert cid in found.new
    finally:
        engine.dispose()
    return {"name": name, "password": password, "customer": cid}


def logged_in(browser: Browser, stack: Stack, setting: dict[str, str], locale: str) -> Iterator[Page]:
    viewport = {"width": 1280, "height": 900}
    context = browser.new_context(viewport=viewport, accept_downloads=True, locale=locale)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    refused = watch_content_policy(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(stack.backend_url + "/console/login")
    page.locator("input[name=username]").fill(setting["name"])
    page.locator("input[name=password]").fill(setting["password"])
    page.locator("form button[type=submit]").click()
    page.wait_for_url(stack.backend_url + "/console")
    yield page
    context.close()
    assert errors == [], "the page threw"
    assert refused == [], "the Content-Security-Policy refused something the pages need"


@pytest.fixture
def english(browser: Browser, stack: Stack, setting: dict[str, str]) -> Iterator[Page]:
    yield from logged_in(browser, stack, setting, "en-GB")


@pytest.fixture
def chinese(browser: Browser, stack: Stack, setting: dict[str, str]) -> Iterator[Page]:
    yield from logged_in(browser, stack, setting, "zh-CN")


def drawn(page: Page, canvas_id: str) -> dict[str, Any]:
    """What Chart.js drew on the canvas: labels and each dataset's numbers."""
    return dict(
        page.evaluate(
            """id => {
                const chart = Chart.getChart(document.getElementById(id));
                return {labels: chart.data.labels, data: chart.data.datasets.map(d => d.data)};
            }""",
            canvas_id,
        )
    )


def test_the_weekly_statistics_draw_and_download_in_both_languages(
    english: Page, chinese: Page, stack: Stack, setting: dict[str, str]
) -> None:
    url = f"{stack.backend_url}/console/reports/weekly-shipments?week={WEEK.key}"
    english.goto(url)
    expect(english.get_by_role("heading", name="Weekly shipment statistics")).to_be_visible()
    row = english.locator(f'#weekly-shipments tr[data-customer="{setting["customer"]}"]')
    expect(row).to_contain_text("Hechi Silk Co")
    chart = drawn(english, "weekly-chart")
    assert chart["labels"] == ["Hechi Silk Co"] and chart["data"] == [[10], [2]]
    with english.expect_download() as download:
        english.get_by_role("link", name="Download as CSV").click()
    raw = download.value.path().read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "no byte-order mark: Excel on a Chinese Windows reads GBK"
    header, line = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert header[0] == "Customer id" and line[:11] == [
        setting["customer"],
        "Hechi Silk Co",
        "A",
        "2",
        "80.00",
        "10",
        "-8",
        "-80.0%",
        "10.0",
        "-80.0%",
        "Shenzhen 1, 柳州市 1",
    ]

    chinese.goto(url)
    expect(chinese.get_by_role("heading", name="周期发货统计")).to_be_visible()
    expect(chinese.locator("#weekly-summary")).to_contain_text("1 位客户发货 2 票")
    assert drawn(chinese, "weekly-chart")["data"] == [[10], [2]]
    with chinese.expect_download() as download:
        chinese.get_by_role("link", name="下载此表（表格文件）").click()
    assert download.value.path().read_bytes().decode("utf-8-sig").startswith("客户编号,客户,")


def test_the_flag_draws_its_sparkline_and_the_care_call_closes_it(
    english: Page, chinese: Page, stack: Stack, setting: dict[str, str]
) -> None:
    chinese.goto(f"{stack.backend_url}/console/customers/{setting['customer']}")
    expect(chinese.locator(".volume-flag")).to_contain_text("2034-W10 业务量下降：发货 2 票")
    chinese.get_by_role("link", name="回访", exact=True).click()  # the nav also has 回访总结报告
    expect(chinese.get_by_role("heading", name="业务量监控")).to_be_visible()

    english.goto(f"{stack.backend_url}/console/volume")
    row = english.locator(f'#volume-flags tr[data-customer="{setting["customer"]}"]')
    expect(row).to_contain_text("−80%")
    canvas = row.locator("canvas").get_attribute("id")
    assert canvas is not None
    weeks = [WEEK.shift(-n).key for n in range(4, -1, -1)]
    assert drawn(english, canvas) == {"labels": weeks, "data": [PER_WEEK]}
    row.get_by_label("What the customer said").fill("Their season ended early; orders resume in April.")
    row.get_by_role("button", name="Mark handled").click()
    expect(english.locator(f'#volume-flags tr[data-customer="{setting["customer"]}"]')).to_have_count(0)
    english.get_by_role("link", name="Handled flags").click()
    expect(english.locator(f'#volume-flags tr[data-customer="{setting["customer"]}"]')).to_contain_text(
        "Their season ended early"
    )
