"""A photo goes to the upload store before its message's transaction: a slow store (S3 far away) must not
hold the database, or every other shipper's message waits behind one upload."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from backend.hub import Hub, Inbound, InboundFile
from backend.hub.broker import Broker
from backend.hub.rasa import RasaGateway
from backend.storage.directory import DirectoryStore
from tests.backend.channels.test_web import PNG_1PX
from tests.backend.hub.world import SECRET, World, user

UPLOAD_S = 1.0


class SlowStore(DirectoryStore):
    """A directory store whose uploads take a second, like a large photo to a remote bucket."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.finished_at = 0.0

    def save(self, key: str, data: bytes) -> None:
        time.sleep(UPLOAD_S)
        super().save(key, data)
        self.finished_at = time.monotonic()


def test_another_conversations_message_does_not_wait_for_a_slow_upload(world: World) -> None:
    store = SlowStore(world.upload_dir)
    with_photo = Inbound(
        channel="fake", external_id=user(), text="the box is crushed", files=(InboundFile(PNG_1PX),)
    )
    plain = Inbound(channel="fake", external_id=user(), text="where is EA100000025CN")

    async def main() -> tuple[float, float]:
        async with httpx.AsyncClient() as client:
            gateway = RasaGateway(
                client, base_url=world.url, channel_secret=SECRET, api_token="t", timeout_s=5
            )
            hub = Hub(world.factory, gateway, Broker(), uploads=store, calendar=world.calendar)
            hub.register(world.channel)
            photo_turn = asyncio.create_task(hub.receive(with_photo))
            await asyncio.sleep(0.2)  # the photo's upload is under way
            await hub.receive(plain)
            plain_done = time.monotonic()
            photo = await photo_turn
            assert photo.replies, "the photo's message is answered too"
            return plain_done, store.finished_at

    plain_done, upload_done = asyncio.run(main())
    assert plain_done < upload_done, "the other shipper's message waited for the upload"
    assert world.channel.texts(plain.external_id) == ["bot reply"]
