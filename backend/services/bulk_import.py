"""Bulk import of customers, shipments and tracking scans from NDJSON or CSV, streamed and batched."""

from __future__ import annotations

import csv
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Literal, TextIO

from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from sqlalchemy import Table, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session

from backend.api.integration import CustomerIn, EventIn, ShipmentIn
from backend.db import begin_write
from backend.models import Customer, Shipment, ShipmentEvent
from backend.services.integration import (
    SHIPMENT_FIELDS,
    FieldError,
    place_scan_statuses,
    upsert_customer,
)
from backend.waybill import WaybillCheck, validate

log = logging.getLogger(__name__)

Kind = Literal["customer", "shipment", "event"]
KINDS: tuple[Kind, ...] = ("customer", "shipment", "event")
Format = Literal["ndjson", "csv"]
DEFAULT_BATCH = 1000
DEFAULT_MAX_ERRORS = 100
_CUSTOMER_ID = r"^[A-Za-z0-9_.-]{1,16}$"


class CustomerRow(CustomerIn):
    """A customer row: the body of PUT /api/v1/customers/{id} with its id."""

    id: str = Field(pattern=_CUSTOMER_ID)


class ShipmentRow(ShipmentIn):
    """A shipment row: the body of PUT /api/v1/shipments/{waybill} with its waybill."""

    waybill: str | None = Field(default=None, description="The S10 number; its check digit is verified.")
    created_at: AwareDatetime | None = Field(
        default=None, description="When the carrier's system created it; used for a new shipment only."
    )


class EventRow(EventIn):
    """An event row: the body of POST /api/v1/shipments/{waybill}/events with its waybill."""

    waybill: str


ROW_MODELS: dict[Kind, type[BaseModel]] = {
    "customer": CustomerRow,
    "shipment": ShipmentRow,
    "event": EventRow,
}


@dataclass(frozen=True)
class RowError:
    """Why one row of the file was not imported: its line, the field (pydantic's loc) and the reason."""

    line: int
    field: str
    reason: str
    value: Any = None

    def __str__(self) -> str:
        shown = "" if self.value is None else f" ({self.value})"
        return f"line {self.line}: {self.field}: {self.reason}{shown}"

    def as_dict(self) -> dict[str, Any]:
        value = self.value
        if value is not None and not isinstance(value, str | int | float | bool):
            value = str(value)
        return {"line": self.line, "field": self.field, "reason": self.reason, "value": value}


@dataclass
class ImportResult:
    """What an import did: rows new, updated, unchanged, rejected, and the first errors (by line)."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    max_errors: int = DEFAULT_MAX_ERRORS
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.new + self.updated + self.unchanged + self.rejected

    def count(self, kind: str, outcome: str, n: int = 1) -> None:
        setattr(self, outcome, getattr(self, outcome) + n)
        per = self.by_kind.setdefault(kind, {"new": 0, "updated": 0, "unchanged": 0, "rejected": 0})
        per[outcome] += n

    def reject(self, kind: str | None, errors: list[RowError]) -> None:
        if kind is None:  # a row whose kind is not known (not JSON, no type)
            self.rejected += 1
        else:
            self.count(kind, "rejected")
        room = self.max_errors - len(self.errors)
        self.errors.extend(errors[: max(room, 0)])

    def summary(self) -> str:
        return f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged, {self.rejected} rejected"

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "by_kind": self.by_kind,
            "errors": [error.as_dict() for error in self.errors],
            "errors_truncated": self.rejected > 0 and len(self.errors) >= self.max_errors,
        }


class ImportFileError(Exception):
    """The file cannot be read as an import at all (not a row's fault): unknown CSV header, bad encoding."""


@dataclass
class _Row:
    line: int
    kind: Kind
    data: Any  # the validated model; None once rejected
    # Whether the customer (of a shipment) or shipment (of an event) it names came earlier in the file.
    named_earlier: bool = False


@dataclass
class _Bad:
    """A row that cannot be used, and its kind when known."""

    kind: Kind | None
    errors: list[RowError]


# --- reading ---------------------------------------------------------------------------------------


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "row"


def _validation_errors(line: int, error: ValidationError) -> list[RowError]:
    return [
        RowError(line, _field_name(tuple(e["loc"])), e["msg"], e.get("input") if e["loc"] else None)
        for e in error.errors(include_url=False)
    ]


@lru_cache(maxsize=65536)
def _checked(waybill: str) -> WaybillCheck:
    # A file names each shipment about ten times (its row, then its scans): check each number once.
    return validate(waybill)


def _waybill_error(line: int, waybill: str | None) -> RowError | None:
    if waybill is None:
        return RowError(line, "waybill", "Field required")
    check = _checked(waybill)
    if check.is_valid:
        return None
    reason = (
        "check digit is wrong"
        if check.status == "mistyped"
        else "not an S10 waybill number (2 letters, 9 digits, 2 letters)"
    )
    return RowError(line, "waybill", reason, waybill)


def _parse(line: int, kind: Kind, raw: dict[str, Any]) -> _Row | _Bad:
    try:
        data = ROW_MODELS[kind].model_validate(raw)
    except ValidationError as error:
        return _Bad(kind, _validation_errors(line, error))
    if isinstance(data, ShipmentRow | EventRow):
        bad = _waybill_error(line, data.waybill)
        if bad is not None:
            return _Bad(kind, [bad])
        data.waybill = _checked(data.waybill or "").value
    return _Row(line, kind, data)


def read_ndjson(lines: Iterable[bytes | str], kind: Kind | None = None) -> Iterator[_Row | _Bad]:
    """(line number, a parsed row or its errors) of an NDJSON stream; each object names its `type`."""
    for number, raw_line in enumerate(lines, start=1):
        text = raw_line.decode("utf-8") if isinstance(raw_line, bytes) else raw_line
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError as error:
            yield _Bad(None, [RowError(number, "row", f"not a JSON object: {error}")])
            continue
        if not isinstance(obj, dict):
            yield _Bad(None, [RowError(number, "row", "not a JSON object")])
            continue
        row_kind = obj.pop("type", kind)
        if row_kind not in KINDS:
            reason = (
                "Field required: one of customer, shipment, event"
                if row_kind is None
                else ("must be one of customer, shipment, event")
            )
            yield _Bad(None, [RowError(number, "type", reason, row_kind)])
            continue
        yield _parse(number, row_kind, obj)


def csv_kind(header: list[str]) -> Kind | None:
    """The kind of rows a CSV file holds, told by its header."""
    columns = set(header)
    if "event_id" in columns:
        return "event"
    if {"origin", "destination"} & columns:
        return "shipment"
    if {"id", "name"} <= columns:
        return "customer"
    return None


def read_csv(lines: Iterable[str], kind: Kind | None = None) -> Iterator[_Row | _Bad]:
    """(line number, a parsed row or its errors) of a CSV stream with a header; empty cells are absent."""
    reader = csv.reader(iter(lines))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        return
    header[0] = header[0].lstrip("\ufeff")
    file_kind = kind or csv_kind(header)
    if file_kind is None:
        raise ImportFileError(
            f"cannot tell the rows' kind from the CSV header {header}: give --kind customer|shipment|event"
        )
    for cells in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            yield _Bad(file_kind, [RowError(number, "row", f"{len(cells)} cells for {len(header)} columns")])
            continue
        yield _parse(number, file_kind, {k: v for k, v in zip(header, cells, strict=True) if v != ""})


# --- writing ---------------------------------------------------------------------------------------


def _sqlite_insert_ignoring_duplicates(table: Table) -> Any:
    """SQLite's INSERT .. ON CONFLICT DO NOTHING on the scan's unique key (PostgreSQL: _PG_INSERT_SCANS)."""
    return sqlite_insert(table).on_conflict_do_nothing(index_elements=["shipment_id", "event_id"])


class _Batch:
    """The rows of one batch, written in one go (customers, then shipments, then scans)."""

    def __init__(self, rows: list[_Row]) -> None:
        self.rows = rows

    def write(self, session: Session, result: ImportResult) -> None:
        """Write every row or raise (the caller's savepoint undoes all of it); counts into `result`."""
        customers = [row for row in self.rows if row.kind == "customer"]
        shipments = [row for row in self.rows if row.kind == "shipment"]
        events = [row for row in self.rows if row.kind == "event"]
        # Before the batch's customers and shipments are stored: a row may name only what came before it.
        self._check_references(session, shipments, events, result)
        if customers:
            # Loaded in one query: upsert_customer's own lookup then finds them in the session.
            session.scalars(select(Customer).where(Customer.id.in_({row.data.id for row in customers}))).all()
        for row in customers:
            self._customer(session, row, result)
        self._shipments(session, [row for row in shipments if row.data is not None], result)
        self._events(session, [row for row in events if row.data is not None], result)

    @staticmethod
    def _customer(session: Session, row: _Row, result: ImportResult) -> None:
        data: CustomerRow = row.data
        try:
            _customer, outcome = upsert_customer(
                session,
                customer_id=data.id,
                name=data.name,
                customer_class=data.customer_class,
                phone=data.phone,
            )
        except FieldError as error:
            result.reject("customer", [RowError(row.line, error.loc[-1], error.msg, error.input)])
            return
        result.count("customer", {"created": "new"}.get(outcome, outcome))

    @staticmethod
    def _check_references(
        session: Session, shipments: list[_Row], events: list[_Row], result: ImportResult
    ) -> None:
        """Reject the rows naming a customer or a shipment neither stored nor earlier in the file."""
        customer_ids = {row.data.customer_id for row in shipments if not row.named_earlier}
        stored_customers = set(session.scalars(select(Customer.id).where(Customer.id.in_(customer_ids))))
        for row in shipments:
            if not row.named_earlier and row.data.customer_id not in stored_customers:
                result.reject(
                    "shipment",
                    [RowError(row.line, "customer_id", "unknown customer", row.data.customer_id)],
                )
                row.data = None
        waybills = {row.data.waybill for row in events if not row.named_earlier}
        stored = set(session.scalars(select(Shipment.waybill).where(Shipment.waybill.in_(waybills))))
        for row in events:
            if not row.named_earlier and row.data.waybill not in stored:
                result.reject("event", [RowError(row.line, "waybill", "unknown shipment", row.data.waybill)])
                row.data = None

    @staticmethod
    def _shipments(session: Session, rows: list[_Row], result: ImportResult) -> None:
        if not rows:
            return
        existing = {
            s.waybill: s
            for s in session.scalars(
                select(Shipment).where(Shipment.waybill.in_([row.data.waybill for row in rows]))
            )
        }
        for row in rows:
            data: ShipmentRow = row.data
            values = {name: getattr(data, name) for name in SHIPMENT_FIELDS}
            shipment = existing.get(data.waybill or "")
            if shipment is None:
                moments = (
                    {"created_at": data.created_at, "updated_at": data.created_at} if data.created_at else {}
                )
                session.add(Shipment(waybill=data.waybill, **values, **moments))
                result.count("shipment", "new")
                continue
            changed = [name for name, value in values.items() if getattr(shipment, name) != value]
            for name in changed:
                setattr(shipment, name, values[name])
            result.count("shipment", "updated" if changed else "unchanged")
        session.flush()

    @staticmethod
    def _events(session: Session, rows: list[_Row], result: ImportResult) -> None:
        if not rows:
            return
        waybills = {row.data.waybill for row in rows}
        ids: dict[str, int] = {
            waybill: shipment_id
            for waybill, shipment_id in session.execute(
                select(Shipment.waybill, Shipment.id).where(Shipment.waybill.in_(waybills))
            )
        }
        values: list[dict[str, Any]] = []
        for row in rows:
            data: EventRow = row.data
            values.append(
                {
                    "shipment_id": ids[data.waybill],
                    "event_id": data.event_id,
                    "occurred_at": data.occurred_at,
                    "code": data.code,
                    "location": data.location,
                    "description": data.description,
                    "status": data.status,
                    "force_majeure": data.force_majeure,
                }
            )
        stored = _insert_scans(session, values)
        result.count("event", "new", len(stored))
        result.count("event", "unchanged", len(values) - len(stored))
        new_scans: dict[int, list[int]] = {}
        by_key = {(shipment_id, event_id): scan_id for scan_id, shipment_id, event_id in stored}
        for value in values:
            scan_id = by_key.get((value["shipment_id"], value["event_id"]))
            if scan_id is not None and value["status"] is not None:
                new_scans.setdefault(value["shipment_id"], []).append(scan_id)
        place_scan_statuses(session, new_scans)


_SCAN_COLUMNS = (
    ("shipment_id", "integer"),
    ("event_id", "text"),
    ("occurred_at", "timestamptz"),
    ("code", "text"),
    ("location", "text"),
    ("description", "text"),
    ("status", "text"),
    ("force_majeure", "boolean"),
)
# PostgreSQL: the batch as one array per column, one short statement whatever the batch's size (psycopg
# re-parses a long multi-VALUES statement on every batch; this one is parsed and planned once).
_PG_INSERT_SCANS = text(
    f"INSERT INTO shipment_event ({', '.join(name for name, _ in _SCAN_COLUMNS)}) "
    "SELECT * FROM unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _SCAN_COLUMNS)
    + ") ON CONFLICT (shipment_id, event_id) DO NOTHING RETURNING id, shipment_id, event_id"
)


def _insert_scans(session: Session, values: list[dict[str, Any]]) -> list[Any]:
    """Insert the scans not stored yet (by shipment and event id); (id, shipment id, event id) of those."""
    if session.get_bind().dialect.name == "postgresql":
        columns = {name: [value[name] for value in values] for name, _ in _SCAN_COLUMNS}
        return list(session.execute(_PG_INSERT_SCANS, columns).all())
    table = ShipmentEvent.__table__
    assert isinstance(table, Table)
    statement = _sqlite_insert_ignoring_duplicates(table).returning(
        table.c.id, table.c.shipment_id, table.c.event_id
    )
    return list(session.execute(statement, values).all())


def _database_reason(error: Exception) -> str:
    original = getattr(error, "orig", None) or error
    return "the database refused it: " + (str(original).strip().splitlines() or ["?"])[0]


def _write(session: Session, rows: list[_Row], result: ImportResult) -> None:
    """One batch all or nothing; on a database error, row by row so one bad row cannot sink the others."""
    begin_write(session)
    attempt = ImportResult(max_errors=result.max_errors)
    try:
        with session.begin_nested():
            _Batch(rows).write(session, attempt)
    except (DBAPIError, StatementError) as error:
        log.info("import: a batch of %d rows failed (%s); retrying row by row", len(rows), error)
        for row in rows:
            single = ImportResult(max_errors=result.max_errors)
            try:
                with session.begin_nested():
                    _Batch([row]).write(session, single)
            except (DBAPIError, StatementError) as row_error:
                result.reject(row.kind, [RowError(row.line, "row", _database_reason(row_error))])
            else:
                _merge(result, single)
        return
    _merge(result, attempt)


def _merge(into: ImportResult, part: ImportResult) -> None:
    for kind, outcomes in part.by_kind.items():
        for outcome, n in outcomes.items():
            if n:
                into.count(kind, outcome, n)
    room = into.max_errors - len(into.errors)
    into.errors.extend(part.errors[: max(room, 0)])


Progress = Callable[[ImportResult], None]


def import_rows(
    session: Session,
    parsed: Iterable[_Row | _Bad],
    *,
    batch_size: int = DEFAULT_BATCH,
    max_errors: int = DEFAULT_MAX_ERRORS,
    commit: bool = True,
    progress: Progress | None = None,
) -> ImportResult:
    """Validate and store parsed rows in batches of `batch_size`, each its own transaction when `commit`.

    Without `commit` every batch is a savepoint of the caller's transaction (the seed's). A row is
    wholly stored or not at all; a rejected row is counted and its errors kept (the first `max_errors`).
    """
    result = ImportResult(max_errors=max_errors)
    # Customer ids and waybills of valid rows so far: a later row may name them before they are stored.
    known_customers: set[str] = set()
    known_waybills: set[str] = set()
    batch: list[_Row] = []
    batch_waybills: set[str] = set()

    def flush() -> None:
        if batch:
            _write(session, batch, result)
            if commit:
                session.commit()
                session.expunge_all()  # memory stays flat: nothing of a written batch is kept
            batch.clear()
            batch_waybills.clear()
        if progress is not None:
            progress(result)

    for parsed_row in parsed:
        if isinstance(parsed_row, _Bad):
            result.reject(parsed_row.kind, parsed_row.errors)
            continue
        row = parsed_row
        if row.kind == "shipment":
            row.named_earlier = row.data.customer_id in known_customers
            if row.data.waybill in batch_waybills:
                flush()  # the same shipment twice: the later row applies after the earlier one
            batch_waybills.add(row.data.waybill)
            known_waybills.add(row.data.waybill)
        elif row.kind == "event":
            row.named_earlier = row.data.waybill in known_waybills
        else:
            known_customers.add(row.data.id)
        batch.append(row)
        if len(batch) >= batch_size:
            flush()
    flush()
    return result


def import_file(
    session: Session,
    stream: Iterable[bytes],
    *,
    fmt: Format,
    kind: Kind | None = None,
    batch_size: int = DEFAULT_BATCH,
    max_errors: int = DEFAULT_MAX_ERRORS,
    commit: bool = True,
    progress: Progress | None = None,
) -> ImportResult:
    """Import an NDJSON or CSV byte stream, read line by line (never whole)."""
    lines = _decoded(stream)
    parsed = read_ndjson(lines, kind) if fmt == "ndjson" else read_csv(lines, kind)
    return import_rows(
        session, parsed, batch_size=batch_size, max_errors=max_errors, commit=commit, progress=progress
    )


def _decoded(stream: Iterable[bytes]) -> Iterator[str]:
    for number, raw in enumerate(stream, start=1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ImportFileError(f"line {number} is not UTF-8: {error}") from error


def guess_format(name: str, head: bytes) -> Format:
    """NDJSON or CSV from a file's name, else from its first byte."""
    lowered = name.lower()
    if lowered.endswith((".ndjson", ".jsonl", ".json")):
        return "ndjson"
    if lowered.endswith(".csv"):
        return "csv"
    return "ndjson" if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "csv"


# --- the command line: python -m backend import FILE -------------------------------------------------


class _CountingLines:
    """The lines of a binary file, counting the bytes read so far (the progress bar's done/total)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.read = 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self.stream:
            self.read += len(line)
            yield line


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


class _ProgressBar:
    """Rows/s and done/total on stderr: a redrawn line at a terminal, else a plain line every few seconds."""

    WIDTH = 30

    def __init__(self, out: TextIO, total_bytes: int | None, lines: _CountingLines) -> None:
        self.out = out
        self.total = total_bytes or None
        self.lines = lines
        self.tty = out.isatty()
        self.started = time.monotonic()
        self.last = 0.0
        self.shown = -1

    def __call__(self, result: ImportResult, *, final: bool = False) -> None:
        now = time.monotonic()
        if final and result.rows == self.shown:
            if self.tty:
                self.out.write("\n")
            return
        if not final and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last, self.shown = now, result.rows
        elapsed = max(now - self.started, 1e-6)
        rate = result.rows / elapsed
        text = f"{result.rows} rows, {rate:,.0f} rows/s, {result.rejected} rejected"
        if self.total:
            share = min(self.lines.read / self.total, 1.0)
            done = f"{_size(self.lines.read)}/{_size(self.total)}"
            if self.tty:
                filled = int(share * self.WIDTH)
                text = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {share:4.0%} {done}, {text}"
            else:
                text = f"{share:.0%} of {done}, {text}"
        if self.tty:
            self.out.write("\r" + text + ("\n" if final else ""))
        else:
            self.out.write(f"import: {text}\n")
        self.out.flush()


def run_cli(
    *,
    path: Path,
    url: str,
    kind: Kind | None,
    batch_size: int,
    out: TextIO,
    err: TextIO,
    max_errors: int = DEFAULT_MAX_ERRORS,
) -> int:
    """`python -m backend import FILE`: 0 when every row was good, 1 when some were rejected, 2 unreadable."""
    from backend.db import make_engine, make_session_factory

    try:
        stream = path.open("rb")
    except OSError as error:
        print(f"error: cannot read {path}: {error.strerror or error}", file=err)
        return 2
    engine = make_engine(url)
    try:
        with stream:
            fmt = guess_format(path.name, stream.peek(64)[:64] if hasattr(stream, "peek") else b"")
            lines = _CountingLines(stream)
            size = path.stat().st_size if path.is_file() else None
            bar = _ProgressBar(err, size, lines)
            with make_session_factory(engine)() as session:
                result = import_file(
                    session,
                    lines,
                    fmt=fmt,
                    kind=kind,
                    batch_size=batch_size,
                    max_errors=max_errors,
                    progress=bar,
                )
            bar(result, final=True)
    except (ImportFileError, OSError) as error:
        print(f"error: cannot import {path}: {error}", file=err)
        return 2
    finally:
        engine.dispose()
    elapsed = time.monotonic() - bar.started
    print(
        f"imported {path} ({fmt}) in {elapsed:.1f} s, {result.rows / max(elapsed, 1e-6):,.0f} rows/s: "
        f"{result.summary()}",
        file=out,
    )
    for kind_name, counts in sorted(result.by_kind.items()):
        print(f"  {kind_name}s: " + ", ".join(f"{n} {outcome}" for outcome, n in counts.items()), file=out)
    for row_error in result.errors:
        print(str(row_error), file=out)
    hidden = result.rejected - len({e.line for e in result.errors})
    if hidden > 0:
        print(f"... and {hidden} more rejected rows not shown", file=out)
    return 1 if result.rejected else 0


def run_command(args: Any, out: TextIO) -> int:
    """backend/__main__.py's `import` command: its arguments to run_cli, the URL from the settings."""
    from pydantic import ValidationError as SettingsError

    from backend.config import get_settings

    try:
        url = args.url or get_settings().database_url
    except SettingsError as error:
        print(f"error: the settings are not valid: {error}", file=sys.stderr)
        return 2
    return run_cli(path=args.file, url=url, kind=args.kind, batch_size=args.batch, out=out, err=sys.stderr)
