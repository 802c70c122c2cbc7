"""Makes the README's console screenshots (queue, conversation with an approval waiting, report) in Chinese.

Run as `make screenshots` (PYTHONPATH=$PWD .venv/bin/python -m tools.screenshots). It starts the product
on free ports with temporary SQLite files (the demo carrier seeded), lets shippers complain through the
web widget's own session and WebSocket, works their conversations as a Chinese agent through the
console's JSON API (two resolved and rated by their shippers in the follow-up), and photographs the
pages in Debian's Chromium (Playwright, never a browser download) at 1280x900 with
locale zh-CN. Everything it started is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from websockets.client import connect

from backend.db import database_session
from backend.security.accounts import create_agent
from tools.stack import DEFAULT_MODEL, ROOT, Stack

DOCS = ROOT / "docs"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--lang=zh-CN",
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]
VIEWPORT = {"width": 1280, "height": 900}
LOCALE = "zh-CN"
# The bot answers through Rasa and the action server: a turn may take a while on a busy machine.
TURN_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Person:
    """A console login the tool makes: its name, the name the console shows, its role."""

    username: str
    display_name: str
    role: str


AGENT = Person("li.wei", "李伟", "agent")
SUPERVISOR = Person("wang.zhuguan", "王主管", "supervisor")


@dataclass(frozen=True)
class Shot:
    """One picture: the file under docs/, who looks, and what the README says it shows."""

    file: str
    viewer: Person
    shows: str


PAGES = (
    Shot("console-queue.png", AGENT, "the queue: waiting complaints in both languages, one held by 李伟"),
    Shot("console-conversation.png", AGENT, "a Chinese complaint with 800 CNY waiting for approval"),
    Shot("console-report.png", SUPERVISOR, "the month's report as 王主管 sees it"),
)


@dataclass(frozen=True)
class Complaint:
    """What one shipper types into the widget, in order (the bot decides where it goes)."""

    language: str
    lines: tuple[str, ...]


# The one the agent works: a high-value parcel lost, the shipper wants compensation (DEMO_DATA EA100000051CN).
WORKED = Complaint(
    "zh",
    ("EA100000051CN一个多星期都没有物流信息了，是不是丢了？我要投诉", "赔偿", "对的"),
)
OTHERS = (
    Complaint(
        "zh",
        ("EA100000079CN显示已经签收了，但是我们根本没收到！谁签的？", "赶紧找回来送给我们", "对"),
    ),
    Complaint("en", ("I have a complaint about EA100000017CN", "I want to speak to a real person")),
    Complaint(
        "en",
        (
            "EA100000079CN shows signed but nobody here ever received it. who signed??",
            "find it and deliver it to us",
            "yes",
        ),
    ),
    Complaint("zh", ("转人工",)),
)
AGENT_REPLY = (
    "您好，我是客服李伟。您的包裹EA100000051CN我们正在全力查找，赔偿申请已经提交主管审批，今天内给您答复。"
)
COMPENSATION = {
    "compensation_cny": "800",
    "resolution": "包裹丢失，按申报价值赔偿800元。",
    "note": "客户提供的货物发票金额为800元，超出坐席权限，申请主管审批。",
}


# (index in OTHERS, the agent's reply, the resolution, the shipper's rating and comment)
SETTLED = (
    (
        0,
        "您好，我是李伟。经核实包裹被误投到隔壁公司前台，我们已经取回，今天下午重新派送给您。",
        "误投已取回，当天重新派送并签收。",
        ("5", "处理得很快，谢谢"),
    ),
    (
        2,
        "Hello, this is Li Wei. The parcel was left at the wrong reception desk; we have it back and will "
        "deliver it to you this afternoon.",
        "Misdelivered parcel recovered and delivered again the same day.",
        ("4", "no"),
    ),
)


def start_product(workdir: Path) -> Stack:
    """The product on free ports with its own SQLite files in `workdir`, demo data seeded, healthy."""
    if not DEFAULT_MODEL.exists():
        raise SystemExit(f"no trained model at {DEFAULT_MODEL}: run `make train` first")
    # Telegram off: a developer's bot token (environment or .env) is never used for pictures.
    stack = Stack.throwaway(workdir, {"UPLOAD_DIR": str(workdir / "uploads"), "TELEGRAM_MODE": "off"})
    stack.start_seeded()
    return stack


def make_people(stack: Stack) -> dict[Person, str]:
    """The Chinese agent and supervisor (agent.language = "zh"), with passwords only this run knows."""
    passwords = {person: secrets.token_urlsafe(18) for person in (AGENT, SUPERVISOR)}
    with database_session(stack.database_url) as session:
        for person, password in passwords.items():
            account = create_agent(
                session,
                username=person.username,
                password=password,
                role=person.role,
                display_name=person.display_name,
                actor="system:screenshots",
            )
            account.language = "zh"
    return passwords


@dataclass(frozen=True)
class Shipper:
    """A shipper's widget session: the signed token the widget keeps, and its conversation."""

    session: str
    conversation_id: str


async def _say(socket: Any, language: str, line: str) -> None:
    """One line over the widget's WebSocket; returns once the hub has stored the whole turn."""
    client_id = str(uuid.uuid4())
    await socket.send(
        json.dumps({"type": "text", "text": line, "client_id": client_id, "language": language})
    )
    while True:
        event = json.loads(await asyncio.wait_for(socket.recv(), TURN_TIMEOUT_S))
        if event.get("client_id") == client_id and event.get("type") in ("ack", "failed", "limited"):
            if event["type"] != "ack":
                raise RuntimeError(f"the widget refused {line!r}: {event}")
            return


def _socket_url(stack: Stack) -> str:
    return stack.backend_url.replace("http://", "ws://") + "/widget/ws"


async def _complain(stack: Stack, complaint: Complaint) -> Shipper:
    """One shipper in the web widget: a session, then each line over the WebSocket, answered in turn."""
    async with httpx.AsyncClient(base_url=stack.backend_url, timeout=30) as client:
        session = (await client.post("/widget/session", json={})).raise_for_status().json()
    async with connect(_socket_url(stack), max_size=2**22) as socket:
        await socket.send(json.dumps({"type": "hello", "session": session["session"], "after": 0}))
        for line in complaint.lines:
            await _say(socket, complaint.language, line)
    return Shipper(session["session"], str(session["conversation_id"]))


def complain(stack: Stack, complaint: Complaint) -> Shipper:
    return asyncio.run(_complain(stack, complaint))


async def _rate(stack: Stack, shipper: Shipper, language: str, answers: tuple[str, str]) -> None:
    """The shipper comes back to the widget, finds the follow-up's 1-5 question, rates and comments."""
    async with connect(_socket_url(stack), max_size=2**22) as socket:
        await socket.send(json.dumps({"type": "hello", "session": shipper.session, "after": 0}))
        while True:  # the backlog, then live messages, until the rating question is there
            event = json.loads(await asyncio.wait_for(socket.recv(), TURN_TIMEOUT_S))
            if event.get("type") == "message" and len(event["message"].get("buttons") or []) == 5:
                break
        for line in answers:
            await _say(socket, language, line)


def rate(stack: Stack, shipper: Shipper, language: str, answers: tuple[str, str]) -> None:
    # Playwright's sync API keeps an event loop in this thread: the shipper talks from another one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _rate(stack, shipper, language, answers)).result()


class Console:
    """A logged-in console user in their own browser context; JSON calls share the page's cookies."""

    def __init__(self, browser: Any, stack: Stack, person: Person, password: str) -> None:
        self.stack = stack
        self.context = browser.new_context(viewport=VIEWPORT, locale=LOCALE, device_scale_factor=1)
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(stack.backend_url + "/console/login")
        self.page.fill("#username", person.username)
        self.page.fill("#password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_selector("meta[name=csrf-token]", state="attached")

    def go(self, path: str) -> None:
        self.page.goto(self.stack.backend_url + path)
        self.page.wait_for_load_state("networkidle")

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        token = self.page.get_attribute("meta[name=csrf-token]", "content") or ""
        response = self.page.request.fetch(
            self.stack.backend_url + "/console/api" + path,
            method=method,
            headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
            data=json.dumps(body) if body is not None else None,
        )
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {response.text()}")
        return response.json()

    def shoot(self, file: str) -> Path:
        if self.errors:
            raise RuntimeError(f"the page threw: {self.errors}")
        target = DOCS / file
        self.page.screenshot(path=str(target), type="png", animations="disabled", caret="hide")
        return target


def queued(console: Console) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in console.api("GET", "/queue")["conversations"]}


def run(stack: Stack) -> list[Path]:
    """The scenario: shippers complain, 李伟 works them, the pictures are taken."""
    from playwright.sync_api import sync_playwright

    passwords = make_people(stack)
    worked = complain(stack, WORKED)
    others = [complain(stack, complaint) for complaint in OTHERS]
    made: list[Path] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            agent = Console(browser, stack, AGENT, passwords[AGENT])
            waiting = queued(agent)
            missing = [s.conversation_id for s in (worked, *others) if s.conversation_id not in waiting]
            if missing:
                raise RuntimeError(f"the bot did not hand these conversations to a person: {missing}")
            work(agent, worked.conversation_id, AGENT_REPLY)
            number = waiting[worked.conversation_id]["ticket"]["number"]
            saved = agent.api("POST", f"/tickets/{number}", {"status": "resolved", **COMPENSATION})
            if (saved.get("approval") or {}).get("status") != "pending":
                raise RuntimeError(f"800 CNY did not wait for approval: {saved}")

            agent.go("/console")
            made.append(agent.shoot(PAGES[0].file))
            agent.go(f"/console/conversations/{quote(worked.conversation_id, safe=':')}")
            agent.page.locator(".approval-state").first.scroll_into_view_if_needed()
            made.append(agent.shoot(PAGES[1].file))

            # Two more settled before the report: resolved, and the shippers answer the follow-up.
            for index, reply, resolution, answers in SETTLED:
                shipper, complaint = others[index], OTHERS[index]
                work(agent, shipper.conversation_id, reply)
                ticket = waiting[shipper.conversation_id]["ticket"]["number"]
                agent.api("POST", f"/tickets/{ticket}", {"status": "resolved", "resolution": resolution})
                # Back to the bot: while an agent holds it, the shipper's answers go to the agent.
                path = f"/conversations/{quote(shipper.conversation_id, safe='')}/hand-back"
                agent.api("POST", path)
                rate(stack, shipper, complaint.language, answers)
                read = agent.api("GET", f"/conversations/{quote(shipper.conversation_id, safe='')}")
                scores = [t.get("satisfaction") for t in read["tickets"] if t["number"] == ticket]
                if scores != [int(answers[0])]:
                    said = [m["text"] for m in read["messages"][-6:]]
                    raise RuntimeError(f"{ticket}'s follow-up did not record {answers[0]}: {scores} {said}")

            supervisor = Console(browser, stack, SUPERVISOR, passwords[SUPERVISOR])
            supervisor.go("/console/reports")
            made.append(supervisor.shoot(PAGES[2].file))
        finally:
            browser.close()
    return made


def work(agent: Console, conversation_id: str, reply: str) -> None:
    """The agent claims the conversation and writes to the shipper (it reaches their widget)."""
    path = f"/conversations/{quote(conversation_id, safe='')}"
    agent.api("POST", f"{path}/claim")
    agent.api("POST", f"{path}/messages", {"text": reply})


def has_chinese_font() -> bool:
    """Whether fontconfig knows a font with Chinese glyphs (without one Chromium draws empty boxes)."""
    try:
        found = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return False
    return bool(found.stdout.strip())


def photograph(start: Callable[[Path], Stack], walk: Callable[[Stack], list[Path]], *, prefix: str) -> int:
    """Start the product with `start` in a temporary folder, take `walk`'s pictures, stop it, list them."""
    if not CHROMIUM.exists():
        print(f"no Chromium at {CHROMIUM}: run scripts/ensure-chromium.sh", file=sys.stderr)
        return 1
    if not has_chinese_font():
        print(
            "no Chinese font: the pictures would show empty boxes. Install one as root:\n"
            "  apt-get install -y fonts-wqy-microhei   (or fonts-noto-cjk)",
            file=sys.stderr,
        )
        return 1
    with tempfile.TemporaryDirectory(prefix=prefix) as workdir:
        stack = start(Path(workdir))
        try:
            made = walk(stack)
        finally:
            stack.stop()
    for path in made:
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size // 1024} KB")
    return 0


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    return photograph(start_product, run, prefix="screenshots-")


if __name__ == "__main__":
    sys.exit(main())
