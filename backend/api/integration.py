"""The integration API for the carrier's systems under /api/v1: customers, shipments and tracking scans."""

from __future__ import annotations

import tempfile
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from backend.api.deps import SessionDep, SettingsDep, require_scope
from backend.domain import CUSTOMER_CLASSES, SHIPMENT_STATUSES
from backend.services.integration import (
    SHIPMENT_FIELDS,
    FieldError,
    load_shipment,
    record_event,
    upsert_customer,
    upsert_shipment,
)
from backend.services.shipments import shipment_to_dict, to_view
from backend.waybill import validate

router = APIRouter(prefix="/v1", tags=["integration"])
WRITE = [Depends(require_scope("shipments:write"))]

Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Weight = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2)]
CustomerId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,16}$", examples=["C001"])]
WaybillPath = Annotated[
    str, Path(description="An S10 number; its check digit is verified.", examples=["EA100000017CN"])
]

_UPSERT_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"description": "Created."},
    401: {"description": "No token, or an unknown or revoked one."},
    403: {"description": "The token lacks the shipments:write scope."},
}


def _one_of(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}")
    return value


def valid_waybill(waybill: str) -> str:
    """The normalised waybill of a path; 422 on the path's `waybill` when it is not a valid S10 number."""
    check = validate(waybill)
    if check.is_valid:
        return check.value
    reason = (
        "check digit does not match: the number looks mistyped"
        if check.status == "mistyped"
        else "not an S10 waybill number (2 letters, 9 digits, 2 letters, e.g. EA100000017CN)"
    )
    raise RequestValidationError([FieldError(("path", "waybill"), reason, "waybill", waybill).as_detail()])


class CustomerIn(BaseModel):
    """A customer as the carrier's CRM holds it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Harbor Fresh Foods Co.", "customer_class": "A", "phone": "+86 138 0000 0001"}
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200)
    customer_class: str | None = Field(
        default=None,
        description=(
            f"One of {', '.join(CUSTOMER_CLASSES)}: the carrier's class, kept as a pin through the monthly "
            "ABC recomputation (a supervisor's pin wins over it). Left out or null: the class is computed "
            "from the customer's freight."
        ),
    )
    phone: str | None = Field(default=None, max_length=40, description="Any written form; stored as E.164.")

    @field_validator("customer_class")
    @classmethod
    def _known_class(cls, value: str | None) -> str | None:
        return None if value is None else _one_of(value, CUSTOMER_CLASSES)


class ShipmentIn(BaseModel):
    """A shipment's whole record, the fields of GET /api/shipments/{waybill} (a field left out is emptied)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "C002",
                    "origin": "Nanning",
                    "destination": "Beijing",
                    "status": "held",
                    "promised_date": "2026-12-01",
                    "delay_reason": "capacity shortage at the Wuhan hub",
                    "freight_amount": "180.00",
                    "goods_description": "tools",
                }
            ]
        },
    )

    customer_id: str = Field(
        min_length=1, max_length=16, description="Must exist (PUT /api/v1/customers/{id})."
    )
    origin: str = Field(min_length=1, max_length=100)
    destination: str = Field(min_length=1, max_length=100)
    status: str = Field(description=f"One of {', '.join(SHIPMENT_STATUSES)}.")
    promised_date: date | None = None
    delivered_at: AwareDatetime | None = None
    signed_by: str | None = Field(default=None, max_length=100)
    signer_is_recipient: bool | None = None
    delay_reason: str | None = None
    exception_reason: str | None = None
    force_majeure: bool = False
    declared_value: Money | None = None
    declared_weight_kg: Weight | None = None
    charged_weight_kg: Weight | None = None
    quoted_amount: Money | None = None
    charged_amount: Money | None = None
    freight_amount: Money | None = None
    goods_description: str | None = Field(default=None, max_length=200)
    pickup_due_at: AwareDatetime | None = None
    courier_note: str | None = None
    # What GET answers besides the record, accepted so that a GET's body can be PUT back, and ignored.
    waybill: str | None = Field(
        default=None, description="Read-only: when given, must be the path's waybill."
    )
    customer_name: Any = Field(default=None, description="Read-only; ignored.")
    customer_class: Any = Field(default=None, description="Read-only; ignored.")
    events: Any = Field(default=None, description="Read-only; ignored (POST events instead).")
    days_late: Any = Field(default=None, description="Read-only; ignored.")
    is_late: Any = Field(default=None, description="Read-only; ignored.")
    last_event: Any = Field(default=None, description="Read-only; ignored.")

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        return _one_of(value, SHIPMENT_STATUSES)


@router.put("/customers/{customer_id}", dependencies=WRITE, responses=_UPSERT_RESPONSES)
def put_customer(
    customer_id: CustomerId, body: CustomerIn, session: SessionDep, response: Response
) -> dict[str, Any]:
    """Create or update a customer by its id: 201 created, 200 updated or unchanged (`result` says which)."""
    try:
        customer, result = upsert_customer(
            session,
            customer_id=customer_id,
            name=body.name,
            customer_class=body.customer_class,
            phone=body.phone,
        )
    except FieldError as error:
        raise RequestValidationError([error.as_detail()]) from error
    if result == "created":
        response.status_code = status.HTTP_201_CREATED
    return {
        "result": result,
        "customer": {
            "id": customer.id,
            "name": customer.name,
            "customer_class": customer.customer_class,
            "phone": customer.phone,
        },
    }


@router.put("/shipments/{waybill}", dependencies=WRITE, responses=_UPSERT_RESPONSES)
def put_shipment(
    waybill: WaybillPath, body: ShipmentIn, session: SessionDep, settings: SettingsDep, response: Response
) -> dict[str, Any]:
    """Create or replace a shipment by waybill: 201 created, 200 updated or unchanged (`result` says which).

    Idempotent: the same body again changes nothing, not even `updated_at`. Its scans are not touched.
    """
    number = valid_waybill(waybill)
    if body.waybill is not None and validate(body.waybill).value != number:
        raise RequestValidationError(
            [
                FieldError(
                    ("body", "waybill"), "differs from the path's waybill", "waybill", body.waybill
                ).as_detail()
            ]
        )
    values = {name: getattr(body, name) for name in SHIPMENT_FIELDS}
    try:
        shipment, result = upsert_shipment(session, waybill=number, values=values)
    except FieldError as error:
        raise RequestValidationError([error.as_detail()]) from error
    if result == "created":
        response.status_code = status.HTTP_201_CREATED
    return {"result": result, "shipment": shipment_to_dict(to_view(shipment, tz=settings.tz))}


class EventIn(BaseModel):
    """One tracking scan as the carrier's system records it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "event_id": "TMS-8841-0007",
                    "occurred_at": "2026-12-03T09:12:00+08:00",
                    "code": "HELD",
                    "location": "Wuhan hub",
                    "description": "Held at the hub: capacity shortage",
                    "status": "held",
                }
            ]
        },
    )

    event_id: str = Field(
        min_length=1, max_length=64, description="The carrier's own id: a replay is ignored."
    )
    occurred_at: AwareDatetime = Field(description="The scan time, ISO 8601 with its UTC offset.")
    code: str = Field(min_length=1, max_length=32)
    location: str = Field(max_length=100)
    description: str
    status: str | None = Field(
        default=None,
        description=f"The shipment's new status, if it changes: one of {', '.join(SHIPMENT_STATUSES)}.",
    )
    force_majeure: bool = Field(
        default=False, description="The scan reports a cause beyond the carrier's control."
    )

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str | None) -> str | None:
        return None if value is None else _one_of(value, SHIPMENT_STATUSES)


@router.post(
    "/shipments/{waybill}/events",
    dependencies=WRITE,
    status_code=status.HTTP_201_CREATED,
    responses={
        **_UPSERT_RESPONSES,
        200: {
            "description": "A replay: this event_id is already stored; nothing changed.",
            "content": {
                "application/json": {
                    "example": {
                        "result": "replay",
                        "event": {"event_id": "TMS-8841-0007", "occurred_at": "2026-12-03T01:12:00+00:00"},
                        "status_applied": False,
                        "note": "This event_id was already stored: nothing changed.",
                        "shipment": {"waybill": "EA100000034CN", "status": "held"},
                    }
                }
            },
        },
        201: {
            "description": "A new scan, stored in scan-time order.",
            "content": {
                "application/json": {
                    "example": {
                        "result": "created",
                        "event": {"event_id": "TMS-8841-0007", "occurred_at": "2026-12-03T01:12:00+00:00"},
                        "status_applied": True,
                        "shipment": {"waybill": "EA100000034CN", "status": "held"},
                    }
                }
            },
        },
        404: {"description": "No shipment with this waybill: PUT it first."},
    },
)
def post_event(
    waybill: WaybillPath, body: EventIn, session: SessionDep, settings: SettingsDep, response: Response
) -> dict[str, Any]:
    """Store one tracking scan: 201 new, 200 replay (same event_id: nothing changes, even if the body differs)

    Scans are kept in scan-time order; a scan's `status` becomes the shipment's unless a newer scan set one.
    """
    number = valid_waybill(waybill)
    shipment = load_shipment(session, number)
    if shipment is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"No shipment {number}: PUT /api/v1/shipments/{number} before its scans.",
        )
    outcome = record_event(
        session,
        shipment=shipment,
        event_id=body.event_id,
        occurred_at=body.occurred_at,
        code=body.code,
        location=body.location,
        description=body.description,
        status=body.status,
        force_majeure=body.force_majeure,
    )
    event = outcome.event
    answer: dict[str, Any] = {
        "result": "created" if outcome.created else "replay",
        "event": {
            "event_id": event.event_id,
            "occurred_at": event.occurred_at.isoformat(),
            "code": event.code,
            "location": event.location,
            "description": event.description,
            "status": event.status,
            "force_majeure": event.force_majeure,
        },
        "status_applied": outcome.status_applied,
        "shipment": shipment_to_dict(to_view(outcome.shipment, tz=settings.tz)),
    }
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
        answer["note"] = (
            "This event_id was already stored and its body differs from this one: the stored scan was kept "
            "and nothing changed."
            if outcome.differs
            else "This event_id was already stored: nothing changed."
        )
    elif body.status is not None and not outcome.status_applied:
        answer["note"] = (
            f"Stored in scan-time order; the status {body.status!r} was not applied because a newer scan "
            "has already set the shipment's status."
        )
    return answer


IMPORT_TYPES = {"application/x-ndjson": "ndjson", "text/csv": "csv"}
_IMPORT_ROW_DOC = (
    "One row per line. NDJSON: each object has a `type` (customer, shipment or event) and the fields of "
    "PUT /api/v1/customers/{id} (plus `id`), PUT /api/v1/shipments/{waybill} (plus `waybill`) or POST "
    "/api/v1/shipments/{waybill}/events (plus `waybill`). CSV: one kind per file, told by `kind` or by "
    "the header; an empty cell is an absent field."
)


@router.post(
    "/import",
    dependencies=WRITE,
    responses={
        **{k: v for k, v in _UPSERT_RESPONSES.items() if k != 201},
        200: {
            "description": "The counts, and the first rejected rows with their line, field and reason.",
            "content": {
                "application/json": {
                    "example": {
                        "rows": 3,
                        "new": 2,
                        "updated": 0,
                        "unchanged": 0,
                        "rejected": 1,
                        "by_kind": {"event": {"new": 2, "updated": 0, "unchanged": 0, "rejected": 1}},
                        "errors": [
                            {
                                "line": 3,
                                "field": "waybill",
                                "reason": "check digit is wrong",
                                "value": "EA100000018CN",
                            }
                        ],
                        "errors_truncated": False,
                    }
                }
            },
        },
        413: {"description": "The body is larger than the IMPORT_MAX_MB setting: use the CLI."},
        415: {"description": "Neither application/x-ndjson nor text/csv."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": _IMPORT_ROW_DOC,
            "content": {
                "application/x-ndjson": {
                    "schema": {"type": "string"},
                    "example": '{"type": "event", "waybill": "EA100000034CN", "event_id": "TMS-1", '
                    '"occurred_at": "2026-12-03T09:12:00+08:00", "code": "HELD", "location": "Wuhan hub", '
                    '"description": "Held at the hub", "status": "held"}\n',
                },
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "event_id,waybill,occurred_at,code,location,description,status\n"
                    "TMS-1,EA100000034CN,2026-12-03T09:12:00+08:00,HELD,Wuhan hub,Held at the hub,held\n",
                },
            },
        }
    },
)
async def post_import(
    request: Request,
    settings: SettingsDep,
    kind: Annotated[
        Literal["customer", "shipment", "event"] | None,
        Query(description="A CSV body's rows (default: told by its header)."),
    ] = None,
) -> dict[str, Any]:
    """Import customers, shipments and tracking scans in bulk, as `python -m backend import` does.

    Every row is validated as its single-row endpoint would; bad rows are reported and skipped, good
    ones stored in batches (a row wholly or not at all), replays change nothing.
    """
    from backend.services.bulk_import import ImportFileError, import_file

    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = IMPORT_TYPES.get(media)
    if fmt is None:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail="Send application/x-ndjson or text/csv.",
        )
    limit = int(settings.import_max_mb * 1_000_000)
    too_large = HTTPException(
        status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        detail=f"The body is larger than {settings.import_max_mb:g} MB: import it with the CLI.",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    # Spooled: a small body stays in memory, a large one goes to a temporary file, never whole in memory.
    spool = tempfile.SpooledTemporaryFile(max_size=4_000_000)  # noqa: SIM115 - closed below
    try:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise too_large
            spool.write(chunk)
        spool.seek(0)
        factory = request.app.state.session_factory

        def run() -> dict[str, Any]:
            with factory() as session:
                return import_file(session, spool, fmt=fmt, kind=kind).as_dict()  # type: ignore[arg-type]

        try:
            return await run_in_threadpool(run)
        except ImportFileError as error:
            raise RequestValidationError(
                [FieldError(("body",), str(error), "import_file").as_detail()]
            ) from error
    finally:
        spool.close()
