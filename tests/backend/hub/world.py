"""The hub as its tests drive it: a fake channel, a hub per call against a fake Rasa, fresh shippers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy.orm import Session, sessionmaker

from backend.hub import Hub, Inbound, Outbound
from backend.hub.broker import Broker
from backend.hub.rasa import RasaGateway
from backend.services.tickets import BusinessCalendar
from tests.fakes.rasa_server import FakeRasa

T = TypeVar("T")
ALWAYS_OPEN = BusinessCalendar(start_hour=0, end_hour=24, weekdays=frozenset(range(7)), holidays=())
SECRET = "hub-test-secret-0123456789"


@dataclass
class FakeChannel:
    """The outbound half of a channel: remembers what it was asked to deliver, in order."""

    name: str = "fake"
    delivered: list[tuple[str, Outbound]] = field(default_factory=list)

    async def deliver(self, external_id: str, message: Outbound) -> None:
        self.delivered.append((external_id, message))

    def texts(self, external_id: str) -> list[str]:
        return [m.text for e, m in self.delivered if e == external_id]


@dataclass
class World:
    rasa: FakeRasa
    channel: FakeChannel
    factory: sessionmaker[Session]
    url: str
    upload_dir: Path
    # Always open unless a test says otherwise: the waiting notice does not depend on the test's hour.
    calendar: BusinessCalendar = field(default_factory=lambda: ALWAYS_OPEN)

    def run(self, work: Callable[[Hub], Awaitable[T]], *, timeout_s: float = 5.0) -> T:
        async def main() -> T:
            async with httpx.AsyncClient() as client:
                gateway = RasaGateway(
                    client, base_url=self.url, channel_secret=SECRET, api_token="t", timeout_s=timeout_s
                )
                hub = Hub(
                    self.factory,
                    gateway,
                    Broker(),
                    upload_dir=self.upload_dir,
                    calendar=self.calendar,
                    retry_pause_s=0.05,
                )
                hub.register(self.channel)
                return await work(hub)

        return asyncio.run(main())

    def receive(self, inbound: Inbound) -> Any:
        return self.run(lambda hub: hub.receive(inbound))


def user() -> str:
    return uuid.uuid4().hex[:10]
