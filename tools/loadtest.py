"""`make loadtest`: many shippers at once, counted for what a carrier must never see.

Two hundred conversations (by default) talk to a running stack at the same time, half through the web
widget's WebSocket and half through the Telegram webhook (answered to a fake Bot API on loopback). Each
conversation sends bursts of five shipment questions without waiting for answers, each about a
different waybill, so every answer names the message it answers. The run then counts, from what the
shippers received:

- sent, answered, lost (no answer within the grace period), duplicated (one question answered twice),
  out of order (answers not in the order the conversation's questions were stored or sent);
- duplicated tickets: some conversations end with five parallel requests for a person, which must open
  one hand-over ticket, never two (read back through the tickets API);
- p50 / p95 from a question to its answer, and answered turns per second.

Why not Locust: what is measured here is not a request's latency but the pairing of asynchronous answers
with their questions per conversation (WebSocket frames, Bot API calls). Locust's users are gevent
greenlets built around request/response timings, so the pairing and the counting would be this file
anyway, with gevent's monkey-patching beside asyncio's clients. This file uses the same clients as the
product's tests (httpx, websockets) and the same fake Bot API.

The load goes to 127.0.0.1 only. It is a documented run for the closing note, not a test in `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import websockets.client
import websockets.exceptions
from sqlalchemy import func, select

from backend.channels.telegram import SECRET_HEADER, WEBHOOK_PATH
from backend.db import database_session
from backend.models import Message, Shipment
from tests.fakes.telegram_api import FakeBotApi, next_update_id, text_update
from tools import cpu_time
from tools.bench import percentile
from tools.prod import throwaway_production
from tools.stack import Stack

# A status answer opens with "<waybill> (<origin> → <destination>):" or "<waybill> (pickup at ...)".
ANSWER_HEAD = re.compile(r"\b([A-Z]{2}\d{9}[A-Z]{2}) \(")
QUESTION = "where is {waybill}?"
PERSON = "I want to talk to a person"
# How long after its last question a conversation waits for the answers still missing.
GRACE_S = 120.0


@dataclass
class Target:
    """A running stack to load: the backend's public address (nginx's under the production profile)."""

    name: str
    backend_url: str
    api_token: str
    telegram_secret: str
    database_url: str


@dataclass
class Tally:
    """What one conversation saw."""

    sent: int = 0
    answered: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    failed_to_send: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    last_answer_at: float = 0.0  # time.monotonic() of the last answer seen

    def add(self, other: Tally) -> None:
        self.sent += other.sent
        self.answered += other.answered
        self.lost += other.lost
        self.duplicated += other.duplicated
        self.out_of_order += other.out_of_order
        self.failed_to_send += other.failed_to_send
        self.latencies_ms += other.latencies_ms
        self.last_answer_at = max(self.last_answer_at, other.last_answer_at)


def judge(
    asked: Sequence[str], answers: Sequence[str], sent_at: dict[str, float], seen_at: dict[str, float]
) -> Tally:
    """The tally of one conversation: `asked` in the order the product stored (or received) them, the
    waybills of the answers in the order the shipper got them."""
    tally = Tally(sent=len(asked))
    counts: dict[str, int] = {}
    for waybill in answers:
        counts[waybill] = counts.get(waybill, 0) + 1
    for waybill in asked:
        n = counts.get(waybill, 0)
        if n == 0:
            tally.lost += 1
            continue
        tally.answered += 1
        tally.duplicated += n - 1
        if waybill in seen_at and waybill in sent_at:
            tally.latencies_ms.append((seen_at[waybill] - sent_at[waybill]) * 1000)
    tally.last_answer_at = max(seen_at.values(), default=0.0)
    # In order: the first answer of each question comes in the order the questions were taken.
    first_answers = list(dict.fromkeys(w for w in answers if w in set(asked)))
    expected = [w for w in asked if w in first_answers]
    tally.out_of_order = sum(1 for got, want in zip(first_answers, expected, strict=True) if got != want)
    return tally


def answered_waybill(text: str) -> str | None:
    match = ANSWER_HEAD.search(text)
    return match.group(1).upper() if match else None


async def widget_conversation(
    client: httpx.AsyncClient, target: Target, waybills: list[str], burst: int, ask_person: bool
) -> tuple[Tally, str]:
    """One widget shipper with two tabs open (two WebSockets, which may reach different backends):
    each burst's questions alternate between the tabs without waiting."""
    response = await client.post(f"{target.backend_url}/widget/session", json={})
    response.raise_for_status()
    session, conversation_id = response.json()["session"], response.json()["conversation_id"]
    ws_url = target.backend_url.replace("http", "ws", 1) + "/widget/ws"
    sent_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    stored: list[str] = []  # questions in the order the product stored them (their echo's order)
    answers: list[str] = []
    failed = 0
    async with websockets.client.connect(ws_url) as tab1, websockets.client.connect(ws_url) as tab2:
        for tab in (tab1, tab2):
            await tab.send(json.dumps({"type": "hello", "session": session, "after": 0}))
            while json.loads(await asyncio.wait_for(tab.recv(), 30)).get("type") != "ready":
                pass

        async def read(until: float) -> None:
            nonlocal failed
            while len(set(answers)) < len(waybills) and time.monotonic() < until:
                try:
                    frame = json.loads(
                        await asyncio.wait_for(tab1.recv(), max(0.1, until - time.monotonic()))
                    )
                except asyncio.TimeoutError:
                    return
                if frame.get("type") == "failed":
                    failed += 1
                if frame.get("type") != "message":
                    continue
                message = frame["message"]
                text = str(message.get("text", ""))
                if message.get("role") == "user":
                    asked = re.search(r"[A-Z]{2}\d{9}[A-Z]{2}", text)
                    if asked:
                        stored.append(asked.group(0))
                elif (waybill := answered_waybill(text)) is not None:
                    seen_at.setdefault(waybill, time.monotonic())
                    answers.append(waybill)

        reader = asyncio.create_task(read(time.monotonic() + 3600))
        for start in range(0, len(waybills), burst):
            for index, waybill in enumerate(waybills[start : start + burst]):
                sent_at[waybill] = time.monotonic()
                frame = {
                    "type": "text",
                    "text": QUESTION.format(waybill=waybill),
                    "client_id": uuid.uuid4().hex,
                }
                await (tab1 if index % 2 == 0 else tab2).send(json.dumps(frame))
            await asyncio.sleep(random.uniform(0.5, 2.0))  # the shipper reads before the next burst
        try:
            await asyncio.wait_for(asyncio.shield(reader), GRACE_S)
        except asyncio.TimeoutError:
            reader.cancel()
        if ask_person:
            for index in range(burst):
                frame = {"type": "text", "text": PERSON, "client_id": uuid.uuid4().hex}
                await (tab1 if index % 2 == 0 else tab2).send(json.dumps(frame))
            await asyncio.sleep(5)
    tally = judge(stored or waybills, answers, sent_at, seen_at)
    tally.failed_to_send = failed
    return tally, conversation_id


async def telegram_conversation(
    client: httpx.AsyncClient,
    target: Target,
    api: FakeBotApi,
    waybills: list[str],
    burst: int,
    ask_person: bool,
) -> tuple[Tally, str]:
    """One Telegram chat: each burst's updates posted one after another without waiting for answers, as
    Telegram delivers a chat's updates in order."""
    chat_id = random.randint(10**9, 8 * 10**9)
    sent_at: dict[str, float] = {}
    failed = 0

    async def post(text: str) -> None:
        nonlocal failed
        update = text_update(chat_id, text, update_id=next_update_id())
        for _ in range(3):  # Telegram redelivers an update that did not get its 200
            try:
                response = await client.post(
                    target.backend_url + WEBHOOK_PATH,
                    json=update,
                    headers={SECRET_HEADER: target.telegram_secret},
                )
                if response.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(1)
        failed += 1

    for start in range(0, len(waybills), burst):
        for waybill in waybills[start : start + burst]:
            sent_at[waybill] = time.monotonic()
            await post(QUESTION.format(waybill=waybill))
        await asyncio.sleep(random.uniform(0.5, 2.0))
    seen_at: dict[str, float] = {}
    deadline = time.monotonic() + GRACE_S
    answers: list[str] = []
    while time.monotonic() < deadline:
        answers = [w for text in api.texts(chat_id) if (w := answered_waybill(text)) is not None]
        for waybill in answers:
            seen_at.setdefault(waybill, time.monotonic())
        if set(waybills) <= set(answers):
            break
        # The fake's record is scanned whole each time: every few tenths of a second keeps the load
        # generator's own CPU away from the servers on a small machine (latency to within 0.3 s).
        await asyncio.sleep(0.3)
    if ask_person:
        await asyncio.gather(*(post(PERSON) for _ in range(burst)))
        await asyncio.sleep(5)
    tally = judge(waybills, answers, sent_at, seen_at)
    tally.failed_to_send = failed
    return tally, f"telegram:{chat_id}"


def seeded_waybills(database_url: str, limit: int = 400) -> list[str]:
    """Shipments the stack knows, to ask about."""
    with database_session(database_url) as session:
        return list(session.scalars(select(Shipment.waybill).order_by(Shipment.waybill).limit(limit)))


def turn_states(database_url: str) -> dict[str, int]:
    """How many of the questions asked about shipments ended in each turn state."""
    with database_session(database_url) as session:
        rows = session.execute(
            select(Message.turn_state, func.count())
            .where(Message.direction == "in", Message.text.startswith("where is "))
            .group_by(Message.turn_state)
        ).all()
        return {str(state): int(count) for state, count in rows}


async def duplicated_tickets(client: httpx.AsyncClient, target: Target, conversation_ids: list[str]) -> int:
    """Hand-over tickets beyond the first in each conversation that asked for a person."""
    extra = 0
    headers = {"Authorization": f"Bearer {target.api_token}"}
    for conversation_id in conversation_ids:
        response = await client.get(
            f"{target.backend_url}/api/tickets", params={"conversation_id": conversation_id}, headers=headers
        )
        response.raise_for_status()
        tickets = response.json()["tickets"]
        extra += max(0, len(tickets) - 1)
    return extra


@dataclass
class Result:
    target: str
    conversations: int
    tally: Tally
    tickets_duplicated: int
    seconds: float
    # The shippers' questions as the product recorded them: answered, failed (shown to agents as "not
    # answered"), still with the bot. A question the shipper sent and the product never stored is lost.
    turn_states: dict[str, int] = field(default_factory=dict)
    by_channel: dict[str, Tally] = field(default_factory=dict)
    # CPU seconds by kind of process over the run: whether the machine's cores, not the product, bound it.
    cpu_s: dict[str, float] = field(default_factory=dict)

    @property
    def turns_per_s(self) -> float:
        return self.tally.answered / self.seconds

    def line(self) -> str:
        t = self.tally
        p50 = percentile(t.latencies_ms, 50) if t.latencies_ms else float("nan")
        p95 = percentile(t.latencies_ms, 95) if t.latencies_ms else float("nan")
        return (
            f"{self.target}: {self.conversations} conversations, sent {t.sent}, answered {t.answered}, "
            f"lost {t.lost}, duplicated {t.duplicated}, out of order {t.out_of_order}, "
            f"tickets duplicated {self.tickets_duplicated}, not accepted {t.failed_to_send}; "
            f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, {self.turns_per_s:.1f} answered turns/s "
            f"in {self.seconds:.0f} s; stored questions by turn state {self.turn_states}; "
            + "; ".join(
                f"{name}: answered {c.answered} of {c.sent}, duplicated {c.duplicated}, "
                f"out of order {c.out_of_order}"
                for name, c in self.by_channel.items()
            )
            + "; "
            + cpu_time.describe(self.cpu_s, t.answered, self.seconds)
        )


async def load(target: Target, api: FakeBotApi, args: argparse.Namespace) -> Result:
    """Every conversation at once, half widget and half Telegram."""
    pool = seeded_waybills(target.database_url)
    per_conversation = args.burst * args.bursts
    if len(pool) < per_conversation:
        raise SystemExit(f"the stack knows only {len(pool)} shipments; {per_conversation} are needed")
    rng = random.Random(args.seed)
    plans = [
        (index % 2 == 0, rng.sample(pool, per_conversation), rng.random() < args.person_share)
        for index in range(args.conversations)
    ]
    limits = httpx.Limits(max_connections=args.conversations, max_keepalive_connections=args.conversations)
    total = Tally()
    asked_person: list[str] = []
    started = time.monotonic()
    cpu_before = cpu_time.snapshot()
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def one(widget: bool, waybills: list[str], person: bool) -> tuple[Tally, str, bool]:
            try:
                if widget:
                    tally, cid = await widget_conversation(client, target, waybills, args.burst, person)
                else:
                    tally, cid = await telegram_conversation(
                        client, target, api, waybills, args.burst, person
                    )
            except (httpx.HTTPError, OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException):
                return Tally(sent=len(waybills), lost=len(waybills), failed_to_send=1), "", False
            return tally, cid, person

        outcomes = await asyncio.gather(*(one(*plan) for plan in plans))
        # Taken when the last conversation is done; its grace wait, if any, costs no CPU.
        cpu_spent = cpu_time.seconds_by_kind(cpu_before, cpu_time.snapshot())
        by_channel: dict[str, Tally] = {"widget": Tally(), "telegram": Tally()}
        for (widget, _, _), (tally, cid, person) in zip(plans, outcomes, strict=True):
            total.add(tally)
            by_channel["widget" if widget else "telegram"].add(tally)
            if person and cid:
                asked_person.append(cid)
        # Until the last answer: the grace period a conversation may wait for a lost one is not work.
        seconds = max(total.last_answer_at, started + 1) - started
        tickets = await duplicated_tickets(client, target, asked_person)
    return Result(
        target.name,
        args.conversations,
        total,
        tickets,
        seconds,
        turn_states(target.database_url),
        by_channel,
        cpu_spent,
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--burst", type=int, default=5, help="questions sent together (default 5)")
    parser.add_argument("--bursts", type=int, default=2, help="bursts per conversation (default 2)")
    parser.add_argument(
        "--person-share", type=float, default=0.1, help="conversations that end asking for a person"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=Path("var/loadtest"))
    parser.add_argument(
        "--profiles", nargs="+", choices=sorted(PROFILES), default=["single", "prod"], help="in this order"
    )
    return parser.parse_args(argv)


def telegram_settings(api: FakeBotApi) -> dict[str, str]:
    """Telegram by webhook, its Bot API the fake one in this process."""
    return {
        "TELEGRAM_MODE": "webhook",
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "TELEGRAM_WEBHOOK_SECRET": secrets.token_hex(16),
        "TELEGRAM_WEBHOOK_URL": "https://care.example.com/telegram/webhook",
    }


@contextmanager
def single_process(workdir: Path, api: FakeBotApi) -> Iterator[Target]:
    """The reference: `make run`'s topology (one backend, one Rasa, one action server, SQLite)."""
    stack = Stack.throwaway(workdir, {"UPLOAD_DIR": str(workdir / "uploads"), **telegram_settings(api)})
    stack.start_seeded()
    try:
        yield Target(
            name="single process (make run)",
            backend_url=stack.backend_url,
            api_token=stack.api_token,
            telegram_secret=stack.extra_env["TELEGRAM_WEBHOOK_SECRET"],
            database_url=stack.database_url,
        )
    finally:
        stack.stop()


@contextmanager
def production_profile(workdir: Path, api: FakeBotApi) -> Iterator[Target]:
    """`make run-prod`'s topology behind nginx, on databases of its own on the tests' PostgreSQL and
    Redis (scripts/ensure-test-services.sh), the demo carrier seeded. The load comes from one address,
    so the door budgets are off, as in the single-process stack."""
    postgres_url, redis_url = os.environ.get("TEST_POSTGRES_URL"), os.environ.get("TEST_REDIS_URL")
    if not postgres_url or not redis_url:
        raise SystemExit(
            "TEST_POSTGRES_URL and TEST_REDIS_URL are needed: run scripts/ensure-test-services.sh"
        )
    telegram = telegram_settings(api)
    # Each of the two backends keeps to its share of Telegram's limit (TELEGRAM_PROCESSES).
    extra = {**telegram, "TELEGRAM_PROCESSES": "2"}
    with throwaway_production(
        workdir,
        postgres_url=postgres_url,
        redis_url=redis_url,
        extra_env=extra,
        seed_demo=True,
        door_limits=False,
    ) as production:
        yield Target(
            name="production profile (make run-prod)",
            backend_url=production.url,
            api_token=production.settings["API_TOKEN"],
            telegram_secret=telegram["TELEGRAM_WEBHOOK_SECRET"],
            database_url=production.settings["DATABASE_URL"],
        )


PROFILES = {"single": single_process, "prod": production_profile}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    results: list[Result] = []
    with FakeBotApi() as api:
        for name in args.profiles:
            workdir = (args.workdir / name).resolve()  # nginx reads its paths from its own folder
            shutil.rmtree(workdir, ignore_errors=True)
            workdir.mkdir(parents=True)
            print(f"[loadtest] starting the {name} profile in {workdir} ...", flush=True)
            with PROFILES[name](workdir, api) as target:
                results.append(asyncio.run(load(target, api, args)))
            print("[loadtest] " + results[-1].line(), flush=True)
    print()
    for result in results:
        print(result.line())
    if len(results) == 2 and results[0].turns_per_s:
        speedup = results[1].turns_per_s / results[0].turns_per_s
        print(f"answered turns per second, {results[1].target} / {results[0].target}: {speedup:.2f}x")
    failures = sum(
        r.tally.lost + r.tally.duplicated + r.tally.out_of_order + r.tickets_duplicated for r in results
    )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
