"""Hub fixtures: one fake Rasa over real HTTP per module, and a fresh world per test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.backend.hub.world import SECRET, FakeChannel, World
from tests.fakes.rasa_server import FakeRasa
from tests.fakes.server import serving


@pytest.fixture(scope="module")
def fake_rasa() -> Iterator[tuple[FakeRasa, str]]:
    rasa = FakeRasa(secret=SECRET)
    with serving(rasa.app()) as url:
        yield rasa, url


@pytest.fixture
def world(
    fake_rasa: tuple[FakeRasa, str], db_factory: sessionmaker[Session], seeded_today: date, tmp_path: Path
) -> World:
    rasa, url = fake_rasa
    rasa.replies, rasa.delay_s, rasa.down = [{"text": "bot reply"}], 0.0, False
    rasa.most_in_flight = 0
    rasa.named.clear()
    return World(rasa, FakeChannel(), db_factory, url, tmp_path)
