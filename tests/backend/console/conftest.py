"""Console fixtures: the app with its probe routes, a client, a second browser, accounts, three people."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.backend.console.clients import Console, build_app, client_for, log_in
from tests.backend.factories import new_account

# The fixtures' browsers read the console in English (the tests assert English wording); the tests of
# the console's languages (test_console_words, test_reader_language) say which language they ask for.
ENGLISH = {"Accept-Language": "en"}


@pytest.fixture
def app(db_url: str, seeded_today: date) -> FastAPI:
    return build_app(db_url)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with client_for(app, headers=ENGLISH) as test_client:
        yield test_client


@pytest.fixture
def other_client(db_url: str, seeded_today: date) -> Iterator[TestClient]:
    """A second browser, elsewhere (its own app instance, so each has its own lifespan)."""
    with client_for(build_app(db_url), headers=ENGLISH) as test_client:
        yield test_client


@pytest.fixture
def agent(db_factory: sessionmaker[Session]) -> tuple[str, str]:
    return new_account(db_factory, "agent")


@pytest.fixture
def supervisor(db_factory: sessionmaker[Session]) -> tuple[str, str]:
    return new_account(db_factory, "supervisor")


@pytest.fixture
def people(app: FastAPI, db_factory: sessionmaker[Session]) -> Iterator[dict[str, Console]]:
    clients: dict[str, Console] = {}
    opened = []
    for name, role in (("alice", "agent"), ("bob", "agent"), ("sue", "supervisor")):
        account = new_account(db_factory, role)
        client = client_for(app, headers=ENGLISH)
        client.__enter__()
        opened.append(client)
        clients[name] = Console(client, log_in(client, account), account[0])
    try:
        yield clients
    finally:
        for client in opened:
            client.__exit__(None, None, None)
