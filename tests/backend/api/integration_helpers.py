"""Helpers of the integration API tests: scoped tokens, unique waybills and customers."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.services.integration_tokens import create_token, revoke_token
from backend.waybill import make_waybill


def make_token(factory: sessionmaker[Session], *scopes: str, revoked: bool = False) -> str:
    """A fresh token with these scopes (a unique name, so tests on the shared database do not collide)."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    with session_scope(factory) as session:
        new = create_token(session, name=name, scopes=list(scopes))
        if revoked:
            revoke_token(session, name=name)
    return new.secret


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_waybill() -> str:
    """A valid S10 number no demo shipment uses ("IT" for integration tests)."""
    return make_waybill("IT", uuid.uuid4().int % 10**8)


def new_customer_id() -> str:
    return f"T{uuid.uuid4().hex[:9].upper()}"


def shipment_body(customer_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "origin": "Nanning",
        "destination": "Beijing",
        "status": "in_transit",
        "promised_date": "2026-12-08",
        "declared_value": "300.00",
        "goods_description": "tools",
    }
    body.update(overrides)
    return body
