"""GET /api/shipments/{waybill}."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, status

from backend.api.deps import SessionDep, SettingsDep, require_token_or_scope
from backend.services.shipments import get_shipment, shipment_to_dict
from backend.waybill import validate

# A shipment's record carries the customer's name and values: callers prove who they are, like /api/tickets.
router = APIRouter(tags=["shipments"], dependencies=[Depends(require_token_or_scope("shipments:read"))])


@router.get("/shipments/{waybill}")
def read_shipment(waybill: str, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """One shipment; 400 for a mistyped or malformed number, 404 for a valid number we do not know."""
    check = validate(waybill)
    if check.status == "malformed":
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            detail=(
                f"Sorry, {check.value or waybill!r} does not look like a waybill number. "
                "Waybill numbers have 2 letters, 9 digits and 2 letters, for example EA100000017CN."
            ),
        )
    if check.status == "mistyped":
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            detail=(
                f"Sorry, {check.value} looks mistyped: its check digit does not match. "
                "Please check the number and send it again."
            ),
        )
    today = datetime.now(settings.tz).date()
    view = get_shipment(session, check.value, today=today)
    if view is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=(
                f"We could not find a shipment with waybill number {check.value}. "
                "Please check the number, or find your shipments by phone number."
            ),
        )
    return shipment_to_dict(view)
