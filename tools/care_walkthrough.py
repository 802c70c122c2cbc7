"""Makes the README's care-campaign pictures: a campaign from its definition to the month's report.

Run by `make screenshots` after the console's pictures (PYTHONPATH=$PWD .venv/bin/python -m
tools.care_walkthrough). It starts the product as tools/screenshots.py does (free ports, temporary SQLite
files, the demo carrier seeded, quiet hours off so the bot's follow-up goes out whenever it runs), and
then everything happens through the product's own doors:

1. a shipper of Nanning Textile Trading (C004, A-class) asks about a parcel in the web widget and proves
   the account with its phone number, so the bot knows where to reach the customer;
2. the supervisor 王主管 spreads the customers between the agents 李伟 and 赵敏 on the owners page, gives
   Harbor Fresh Foods (C001) and C004 to 李伟, and defines two monthly campaigns for A-class customers on
   the care page: one by message, one by phone;
3. the bot sends the follow-up script to C004's widget and the shipper rates and suggests;
4. 李伟 opens the call list, calls Harbor Fresh Foods (C001) and writes the result in the form;
5. the phone campaign's page shows who is still missing, and the follow-up report sums up the month.

The pictures are taken in Debian's Chromium (Playwright, never a browser download) at 1280x900 with
locale zh-CN, as the console's are.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from websockets.client import connect

from backend.db import database_session
from backend.models import CareCampaign, CareTarget, Conversation, FollowUpRecord
from backend.security.accounts import create_agent
from tools.screenshots import (
    AGENT,
    CHROMIUM,
    CHROMIUM_ARGS,
    SUPERVISOR,
    TURN_TIMEOUT_S,
    Console,
    Person,
    Shot,
    _say,
    _socket_url,
    make_people,
    photograph,
)
from tools.stack import DEFAULT_MODEL, Stack

# A second agent, so the owners page has a choice to make.
COLLEAGUE = Person("zhao.min", "赵敏", "agent")

PAGES = (
    Shot("care-campaigns.png", SUPERVISOR, "the care page: two A-class campaigns and their coverage"),
    Shot("care-calls.png", AGENT, "李伟's call list: the seed's script and the result form"),
    Shot("care-coverage.png", SUPERVISOR, "the phone campaign's month: who is still missing"),
    Shot("care-report.png", SUPERVISOR, "the month's follow-up report (回访总结报告)"),
)

# The shipper of C004 (DEMO_DATA: EA100000122CN is theirs, +86 138 0000 0004): a parcel question, then
# the phone number, which with the waybill proves the account.
SHIPPER_LINES = ("EA100000122CN到哪了？", "我的手机号是13800000004，帮我查一下最近的货")
CUSTOMER = "C004"
# The shipper's answers to the bot's follow-up: a rating, then a suggestion.
CARE_ANSWERS = ("4", "干线运输时效挺稳定，希望周末也能上门提货")
MESSAGE_CAMPAIGN = "A类客户十二月消息回访"
PHONE_CAMPAIGN = "A类客户十二月电话回访"
# What 李伟 writes after calling Harbor Fresh Foods (C001).
CALL = {
    "satisfaction": "3",
    "comment": "冷链车到仓时间不固定，客户要等很久才能卸货。",
    "suggestions": "市内配送希望约定固定的送货时间窗。",
    "next_step": "下周与冷链车队确认固定到仓时间，并回电客户。",
}


def start_product(workdir: Path) -> Stack:
    """The product seeded on free ports; quiet hours off and a quick care job, so the walk never waits."""
    if not DEFAULT_MODEL.exists():
        raise SystemExit(f"no trained model at {DEFAULT_MODEL}: run `make train` first")
    stack = Stack.throwaway(
        workdir,
        {
            "UPLOAD_DIR": str(workdir / "uploads"),
            "TELEGRAM_MODE": "off",
            "QUIET_HOURS": "off",
            "CARE_MESSAGE_CHECK_S": "2",
        },
    )
    stack.start_seeded()
    return stack


def add_colleague(stack: Stack) -> None:
    with database_session(stack.database_url) as session:
        create_agent(
            session,
            username=COLLEAGUE.username,
            password="not-used-" + COLLEAGUE.username,
            role=COLLEAGUE.role,
            display_name=COLLEAGUE.display_name,
            actor="system:screenshots",
        ).language = "zh"


async def _shipper_proves_account(stack: Stack) -> tuple[str, str]:
    async with httpx.AsyncClient(base_url=stack.backend_url, timeout=30) as client:
        session = (await client.post("/widget/session", json={})).raise_for_status().json()
    async with connect(_socket_url(stack), max_size=2**22) as socket:
        await socket.send(json.dumps({"type": "hello", "session": session["session"], "after": 0}))
        for line in SHIPPER_LINES:
            await _say(socket, "zh", line)
    return session["session"], str(session["conversation_id"])


async def _shipper_answers_follow_up(stack: Stack, widget_session: str) -> None:
    """The shipper comes back to the widget, finds the bot's 1-5 question and answers both questions."""
    async with connect(_socket_url(stack), max_size=2**22) as socket:
        await socket.send(json.dumps({"type": "hello", "session": widget_session, "after": 0}))
        deadline = time.monotonic() + TURN_TIMEOUT_S
        while True:  # the backlog, then live messages, until the care script with its buttons is there
            remaining = deadline - time.monotonic()
            event = json.loads(await asyncio.wait_for(socket.recv(), max(remaining, 0.1)))
            if event.get("type") == "message" and len(event["message"].get("buttons") or []) == 5:
                break
        for line in CARE_ANSWERS:
            await _say(socket, "zh", line)


def in_thread(coroutine: Any) -> Any:
    # Playwright's sync API keeps an event loop in this thread: the shipper talks from another one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _submit(console: Console, form: str) -> None:
    with console.page.expect_navigation():
        console.page.locator(f"{form} button[type=submit]").click()
    console.page.wait_for_load_state("networkidle")
    alert = console.page.locator(".error[role=alert]")
    if alert.count():
        raise RuntimeError(f"{form} was refused: {alert.first.inner_text()}")


def balance(supervisor: Console) -> None:
    """Every customer gets an owner: the owners page's preview of an even spread, applied."""
    supervisor.go("/console/owners?preview=1")
    _submit(supervisor, "form.apply-balance")


def assign(supervisor: Console, customer_id: str, owner: str) -> None:
    supervisor.go("/console/owners")
    supervisor.page.select_option("form.assign-owner select[name=customer_id]", customer_id)
    supervisor.page.select_option("form.assign-owner select[name=owner]", owner)
    _submit(supervisor, "form.assign-owner")


def define(supervisor: Console, name: str, channel: str) -> None:
    supervisor.go("/console/care")
    form = "form#define-campaign"
    supervisor.page.fill(f"{form} input[name=name]", name)
    supervisor.page.check(f"{form} input[name=classes][value=A]")
    supervisor.page.select_option(f"{form} select[name=channel]", channel)
    supervisor.page.select_option(f"{form} select[name=period]", "month")
    _submit(supervisor, form)


def wait_for(what: str, found: Any, timeout_s: float = TURN_TIMEOUT_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.5)
    raise RuntimeError(f"gave up waiting for {what}")


def campaign_id(stack: Stack, name: str) -> int:
    with database_session(stack.database_url) as session:
        return session.scalars(select(CareCampaign.id).where(CareCampaign.name == name)).one()


def message_sent(stack: Stack) -> bool:
    with database_session(stack.database_url) as session:
        sent = (
            select(CareTarget)
            .join(CareCampaign)
            .where(CareCampaign.name == MESSAGE_CAMPAIGN, CareTarget.customer_id == CUSTOMER)
        )
        target = session.scalars(sent).first()
        return target is not None and target.status in ("sent", "answered")


def answered(stack: Stack, customer_id: str) -> bool:
    with database_session(stack.database_url) as session:
        records = select(FollowUpRecord).where(FollowUpRecord.customer_id == customer_id)
        return any(record.satisfaction for record in session.scalars(records))


def run(stack: Stack) -> list[Path]:
    from playwright.sync_api import sync_playwright

    passwords = make_people(stack)
    add_colleague(stack)
    widget_session, conversation_id = in_thread(_shipper_proves_account(stack))
    with database_session(stack.database_url) as session:
        linked = session.get(Conversation, conversation_id)
        if linked is None or linked.customer_id != CUSTOMER:
            raise RuntimeError(f"the bot did not link the widget conversation to {CUSTOMER}")

    made: list[Path] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            supervisor = Console(browser, stack, SUPERVISOR, passwords[SUPERVISOR])
            balance(supervisor)
            for customer_id in ("C001", CUSTOMER):
                assign(supervisor, customer_id, AGENT.username)
            define(supervisor, MESSAGE_CAMPAIGN, "message")
            wait_for("the bot's follow-up message to C004", lambda: message_sent(stack))
            in_thread(_shipper_answers_follow_up(stack, widget_session))
            wait_for("C004's answers on the follow-up record", lambda: answered(stack, CUSTOMER))
            define(supervisor, PHONE_CAMPAIGN, "phone")
            supervisor.go("/console/care")
            made.append(supervisor.shoot(PAGES[0].file))

            agent = Console(browser, stack, AGENT, passwords[AGENT])
            agent.go("/console/care/calls")
            call = agent.page.locator("section.call[data-customer=C001]")
            call.scroll_into_view_if_needed()
            made.append(agent.shoot(PAGES[1].file))
            call.locator("input[name=reached][value=yes]").check()
            call.locator("select[name=satisfaction]").select_option(CALL["satisfaction"])
            for field in ("comment", "suggestions", "next_step"):
                call.locator(f"textarea[name={field}]").fill(CALL[field])
            with agent.page.expect_navigation():
                call.locator("form.call-form button[type=submit]").click()
            wait_for("C001's call on the follow-up record", lambda: answered(stack, "C001"))

            supervisor.go(f"/console/care/{campaign_id(stack, PHONE_CAMPAIGN)}")
            made.append(supervisor.shoot(PAGES[2].file))
            supervisor.go("/console/reports/follow-up")
            made.append(supervisor.shoot(PAGES[3].file))
        finally:
            browser.close()
    return made


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    return photograph(start_product, run, prefix="care-walkthrough-")


if __name__ == "__main__":
    sys.exit(main())
