"""Integration tokens: the CLI prints a token once and stores its hash; scopes are enforced on the API."""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.__main__ import main
from backend.db import make_engine, make_session_factory, session_scope
from backend.migrate import upgrade
from backend.models import IntegrationToken
from tests.backend.api.integration_helpers import bearer, make_token
from tests.backend.factories import TOKEN

# --- the CLI ------------------------------------------------------------------------------------------


@pytest.fixture
def url(tmp_path: Path) -> str:
    database = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(database)
    return database


def run(url: str, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(["--url", url, *argv], stdout=out), out.getvalue()


def stored(url: str) -> list[IntegrationToken]:
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return list(session.scalars(select(IntegrationToken).order_by(IntegrationToken.id)))
    finally:
        engine.dispose()


def test_create_token_prints_it_once_and_stores_only_its_hash(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(url, "create-token", "tms", "--scope", "shipments:write", "--scope", "shipments:read")
    assert code == 0
    token = out.strip()
    assert "\n" not in token and token.startswith("cit_") and len(token) >= 40
    assert "shown only this once" in capsys.readouterr().err
    [record] = stored(url)
    assert (record.name, record.scope_list) == ("tms", ["shipments:write", "shipments:read"])
    assert record.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in record.token_hash
    assert record.revoked_at is None and record.last_used_at is None

    code, listing = run(url, "list-tokens")
    assert code == 0 and token not in listing and record.token_hash not in listing
    assert "tms\tshipments:write,shipments:read\t" in listing

    # Two tokens never share a value, and a name is taken once.
    code, other = run(url, "create-token", "crm", "--scope", "tickets:read")
    assert code == 0 and other.strip() != token
    assert run(url, "create-token", "tms", "--scope", "tickets:read")[0] == 1
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize(
    "scopes", [["--scope", "shipments:wrte"], ["--scope", "tickets:read", "--scope", "admin"], []]
)
def test_an_unknown_or_missing_scope_is_one_clear_line(
    url: str, scopes: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(url, "create-token", "tms", *scopes)
    err = capsys.readouterr().err
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "shipments:write, shipments:read, tickets:read" in err
    assert stored(url) == []


def test_revoke_token(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    run(url, "create-token", "tms", "--scope", "shipments:write")
    code, out = run(url, "revoke-token", "tms")
    assert code == 0 and "revoked token 'tms'" in out
    [record] = stored(url)
    assert record.revoked_at is not None
    code, listing = run(url, "list-tokens")
    assert listing.splitlines()[1].split("\t")[4] != "-"
    assert run(url, "revoke-token", "nobody")[0] == 1
    assert "no token named 'nobody'" in capsys.readouterr().err


# --- the API ------------------------------------------------------------------------------------------


def test_the_old_reads_accept_a_scoped_token_besides_the_api_token(
    client: TestClient, integration_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    tickets = make_token(integration_factory, "tickets:read")
    shipments = make_token(integration_factory, "shipments:read")
    writer = make_token(integration_factory, "shipments:write")
    revoked = make_token(integration_factory, "tickets:read", "shipments:read", revoked=True)
    caplog.set_level(logging.DEBUG)
    expected = {
        # path: {token: status}
        "/api/tickets": {TOKEN: 200, tickets: 200, shipments: 403, writer: 403, revoked: 401},
        "/api/shipments/EA100000017CN": {TOKEN: 200, shipments: 200, tickets: 403, writer: 403, revoked: 401},
    }
    for path, by_token in expected.items():
        for token, code in by_token.items():
            response = client.get(path, headers=bearer(token))
            assert response.status_code == code, (path, token[:8], response.text)
            if code == 401:
                assert response.headers["WWW-Authenticate"] == "Bearer"
            if code == 403:
                assert "scope" in response.json()["detail"]
        assert client.get(path, headers=bearer("cit_" + "x" * 43)).status_code == 401
        assert client.get(path).status_code == 401
    for token in (tickets, shipments, writer, revoked):
        assert token not in caplog.text


def test_a_used_token_records_when(client: TestClient, integration_factory: sessionmaker[Session]) -> None:
    token = make_token(integration_factory, "tickets:read")
    assert client.get("/api/tickets", headers=bearer(token)).status_code == 200
    digest = hashlib.sha256(token.encode()).hexdigest()
    with session_scope(integration_factory) as session:
        record = session.scalars(select(IntegrationToken).where(IntegrationToken.token_hash == digest)).one()
        assert record.last_used_at is not None
