"""A care campaign in a real headless Chromium: a supervisor (English) defines an A-class phone campaign
for one owner's customers, the owner (Chinese) finds the call list with the seed's script in Chinese and
records a call, and the campaign page shows coverage moving and the missing list shrinking."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import delete, select

from backend.db import make_engine, make_session_factory, session_scope
from backend.models import CareCampaign, CareTarget, Customer, FollowUpRecord
from tests.browser.conftest import console_accounts
from tests.browser.test_volume_pages import logged_in as volume_logged_in
from tools.stack import Stack

pytestmark = pytest.mark.e2e

SCRIPT_ZH = "感谢您使用我们的物流运输服务，请问您对我们的服务满意吗？"


@pytest.fixture(scope="module")
def book(stack: Stack) -> Iterator[dict[str, Any]]:
    """A supervisor, an agent owning two A-class customers and a B-class one; taken out afterwards."""
    accounts = console_accounts(stack, {"supervisor": "Care Boss"}, prefix="care-")
    accounts |= console_accounts(stack, {"agent": "Care Owner"}, prefix="care-")
    owner = accounts["agent"][0]
    tag = secrets.randbelow(10**6)
    ids = [f"CA{tag:06d}1", f"CA{tag:06d}2", f"CB{tag:06d}3"]
    engine = make_engine(stack.database_url)
    factory = make_session_factory(engine)
    try:
        with session_scope(factory) as session:
            for n, cid in enumerate(ids):
                cls = "B" if n == 2 else "A"
                session.add(Customer(id=cid, name=f"桂林茶叶{n + 1}号", customer_class=cls, owner=owner))
        yield {"accounts": accounts, "customers": ids}
    finally:
        with session_scope(factory) as session:
            campaigns = session.scalars(select(CareTarget.campaign_id).where(CareTarget.customer_id.in_(ids)))
            session.execute(delete(CareCampaign).where(CareCampaign.id.in_(set(campaigns))))
            session.execute(delete(FollowUpRecord).where(FollowUpRecord.customer_id.in_(ids)))
            session.execute(delete(Customer).where(Customer.id.in_(ids)))
        engine.dispose()


def logged_in(browser: Browser, stack: Stack, account: tuple[str, str], locale: str) -> Iterator[Page]:
    """A console page logged in as `account`, checked for script errors and refusals when it closes."""
    yield from volume_logged_in(browser, stack, {"name": account[0], "password": account[1]}, locale)


@pytest.fixture
def supervisor(browser: Browser, stack: Stack, book: dict[str, Any]) -> Iterator[Page]:
    yield from logged_in(browser, stack, book["accounts"]["supervisor"], "en-GB")


@pytest.fixture
def owner(browser: Browser, stack: Stack, book: dict[str, Any]) -> Iterator[Page]:
    yield from logged_in(browser, stack, book["accounts"]["agent"], "zh-CN")


def test_a_campaign_from_definition_to_coverage(
    supervisor: Page, owner: Page, stack: Stack, book: dict[str, Any]
) -> None:
    first, second, b_class = book["customers"]
    supervisor.get_by_role("link", name="Care", exact=True).click()
    expect(supervisor.get_by_role("heading", name="Care campaigns")).to_be_visible()
    define = supervisor.locator("#define-campaign")
    define.get_by_label("Campaign name").fill("A-class calls")
    define.locator("input[name=classes][value=A]").check()
    define.locator("select[name=owner]").select_option(book["accounts"]["agent"][0])
    define.locator("select[name=channel]").select_option("phone")
    define.locator("select[name=period]").select_option("month")
    define.get_by_role("button", name="Define the campaign").click()
    expect(supervisor.get_by_role("heading", name="A-class calls")).to_be_visible()
    coverage = supervisor.locator("#coverage")
    expect(coverage).to_contain_text("0 of 2 required customers reached")
    missing = supervisor.locator("#missing li")
    expect(missing).to_have_count(2)
    expect(supervisor.locator(f'#targets tr[data-customer="{b_class}"]')).to_have_count(0)

    # The owner reads the console in Chinese: the nav's 回访 leads to the call list.
    owner.locator(".console-nav").get_by_role("link", name="回访", exact=True).click()
    expect(owner.get_by_role("heading", name="回访电话")).to_be_visible()
    call = owner.locator(f'section.call[data-customer="{first}"]')
    expect(call).to_contain_text(SCRIPT_ZH)
    expect(call).to_contain_text("您好，我是客服部的Care Owner，请问您是桂林茶叶1号的负责人吗？打扰您了。")
    expect(owner.locator("section.call")).to_have_count(2)
    call.get_by_label("是", exact=True).check()
    call.locator("select[name=satisfaction]").select_option("4")
    call.get_by_label("客户意见").fill("派送及时，希望周末也能收货")
    call.get_by_label("建议").fill("周末收货")
    call.get_by_role("button", name="保存回访结果").click()
    expect(owner.locator("#call-saved")).to_contain_text("本次回访已记入回访记录表")
    expect(owner.locator("section.call")).to_have_count(1)
    expect(owner.locator(f'section.call[data-customer="{first}"]')).to_have_count(0)

    supervisor.reload()
    expect(coverage).to_contain_text("1 of 2 required customers reached")
    expect(missing).to_have_count(1)
    expect(missing.first).to_have_attribute("data-customer", second)
    expect(supervisor.locator(f'#targets tr[data-customer="{first}"]')).to_contain_text("answered")
    # The customer's page keeps the call on its follow-up record.
    supervisor.goto(f"{stack.backend_url}/console/customers/{first}")
    expect(supervisor.locator("#customer-follow-ups")).to_contain_text("派送及时，希望周末也能收货")
    expect(supervisor.locator("#customer-follow-ups")).to_contain_text("4/5")
