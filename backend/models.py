"""The system of record: SQLAlchemy 2 models for customers, shipments, conversations, tickets and agents."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, synonym, validates

from backend.clock import utcnow
from backend.domain import (
    CATEGORIES,
    CONVERSATION_STATES,
    CUSTOMER_CLASSES,
    LEVELS,
    PRIORITIES,
    RESPONSIBILITIES,
    SHIPMENT_STATUSES,
    TICKET_KINDS,
    TICKET_STATUSES,
)
from backend.security.passwords import hash_password, verify_password

# Ticket vocabulary the design fixes but domain.py does not (yet) hold.
PHOTO_STATUSES = ("received", "later", "not_needed")
COMPLAINT_STAGES = ("calm", "confirm", "analyse", "negotiate")
MESSAGE_DIRECTIONS = ("in", "out")
MESSAGE_SENDERS = ("shipper", "bot", "agent", "system")
# Where a shipper's message stands until it is answered (backend.hub): stored, with the bot (leased to
# one process until `turn_lease_until`), answered, or failed (shown to agents as not answered).
TURN_STATES = ("received", "with_bot", "answered", "failed")
AGENT_ROLES = ("agent", "supervisor")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC that always comes back timezone-aware, SQLite included."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware values only")
        value = value.astimezone(timezone.utc)
        # SQLite keeps text without an offset; storing every value in UTC keeps them comparable.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


Money = Numeric(12, 2)
Weight = Numeric(10, 2)
JSONData = JSON().with_variant(JSONB(), "postgresql")


def _check(value: str | None, allowed: tuple[str, ...], what: str, *, nullable: bool = False) -> None:
    if value is None and nullable:
        return
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}; got {value!r}")


class Base(DeclarativeBase):
    """Declarative base with predictable constraint names for Alembic."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSONData}


class Customer(Base):
    """A shipper with an account; id like "C001"."""

    __tablename__ = "customer"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    customer_class: Mapped[str] = mapped_column(String(1))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # --- i19c: what customer_class rests on (backend.services.customer_classes). customer_class stays the
    # class everyone reads: the pinned class when there is one, else the computed one.
    # The ABC class the last computation gave (None until one ran for this customer).
    computed_class: Mapped[str | None] = mapped_column(String(1), default=None)
    # A class set by hand (a supervisor) or by the carrier's systems; wins over the computed one.
    pinned_class: Mapped[str | None] = mapped_column(String(1), default=None)
    # Who pinned it: "supervisor:li.wei", or "carrier" (its CRM, an import, the demo seed).
    pinned_by: Mapped[str | None] = mapped_column(String(100), default=None)
    pinned_at: Mapped[datetime | None] = mapped_column(default=None)
    # The last computation's revenue over its window and the cumulative revenue share up to and
    # including this account (0..1; None for an account without revenue).
    class_revenue: Mapped[Decimal | None] = mapped_column(Money, default=None)
    class_share: Mapped[float | None] = mapped_column(Float, default=None)
    class_computed_at: Mapped[datetime | None] = mapped_column(default=None)
    # What computed it: "system:customer_classes" (the monthly job) or "cli:recompute-classes".
    class_computed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    # --- i20o: the agent (username) who looks after this customer (seed 1.3; 专人联系 for A-class) and
    # since when; backend.services.ownership assigns, transfers and balances, and offers their escalations.
    owner: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    owner_since: Mapped[datetime | None] = mapped_column(default=None)

    shipments: Mapped[list[Shipment]] = relationship(back_populates="customer")

    @validates("customer_class")
    def _validate_class(self, _key: str, value: str) -> str:
        _check(value, CUSTOMER_CLASSES, "customer_class")
        return value

    @validates("computed_class", "pinned_class")
    def _validate_class_parts(self, key: str, value: str | None) -> str | None:
        _check(value, CUSTOMER_CLASSES, key, nullable=True)
        return value


class Shipment(Base):
    """One waybill and the carrier's facts about it."""

    __tablename__ = "shipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    waybill: Mapped[str] = mapped_column(String(13), unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    origin: Mapped[str] = mapped_column(String(100))
    destination: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(32))
    promised_date: Mapped[date | None] = mapped_column(Date)
    delivered_at: Mapped[datetime | None]
    signed_by: Mapped[str | None] = mapped_column(String(100))
    signer_is_recipient: Mapped[bool | None] = mapped_column(Boolean)
    delay_reason: Mapped[str | None] = mapped_column(Text)
    exception_reason: Mapped[str | None] = mapped_column(Text)
    force_majeure: Mapped[bool] = mapped_column(Boolean, default=False)
    declared_value: Mapped[Decimal | None] = mapped_column(Money)
    declared_weight_kg: Mapped[Decimal | None] = mapped_column(Weight)
    charged_weight_kg: Mapped[Decimal | None] = mapped_column(Weight)
    quoted_amount: Mapped[Decimal | None] = mapped_column(Money)
    charged_amount: Mapped[Decimal | None] = mapped_column(Money)
    freight_amount: Mapped[Decimal | None] = mapped_column(Money)
    goods_description: Mapped[str | None] = mapped_column(String(200))
    pickup_due_at: Mapped[datetime | None]
    courier_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="shipments")
    events: Mapped[list[ShipmentEvent]] = relationship(
        back_populates="shipment",
        order_by="ShipmentEvent.occurred_at",
        cascade="all, delete-orphan",
    )

    @validates("status")
    def _validate_status(self, _key: str, value: str) -> str:
        _check(value, SHIPMENT_STATUSES, "shipment status")
        return value


class ShipmentEvent(Base):
    """One tracking scan; `event_id` is the carrier's own id when it came through the integration API."""

    __tablename__ = "shipment_event"
    __table_args__ = (
        Index("ix_shipment_event_shipment_id_occurred_at", "shipment_id", "occurred_at"),
        # Two processes storing the same scan at once store it once; seeded scans (no id) are exempt.
        UniqueConstraint("shipment_id", "event_id", name="uq_shipment_event_shipment_id_event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipment.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime]
    location: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    force_majeure: Mapped[bool] = mapped_column(Boolean, default=False)
    event_id: Mapped[str | None] = mapped_column(String(64))
    # The shipment's status this scan reported, if any: a later-arriving older scan must not undo a newer one.
    status: Mapped[str | None] = mapped_column(String(32))

    shipment: Mapped[Shipment] = relationship(back_populates="events")

    @validates("status")
    def _validate_status(self, _key: str, value: str | None) -> str | None:
        _check(value, SHIPMENT_STATUSES, "shipment status", nullable=True)
        return value


INTEGRATION_SCOPES = ("shipments:write", "shipments:read", "tickets:read")


class IntegrationToken(Base):
    """A named token for the carrier's systems on /api/v1; only the SHA-256 of the token is kept."""

    __tablename__ = "integration_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # Space-separated, from INTEGRATION_SCOPES.
    scopes: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class Conversation(Base):
    """One chat per (channel, user); `state` says who is speaking."""

    __tablename__ = "conversation"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(160))
    state: Mapped[str] = mapped_column(String(16), default="bot")
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customer.id"))
    handoff_reason: Mapped[str | None] = mapped_column(Text)
    # The agent (username) who holds the conversation while `state` is "agent".
    owner: Mapped[str | None] = mapped_column(String(64))
    # A customer whose account the shipper has proved to hold (own Telegram contact, or phone plus
    # one of the account's waybills): only then may the bot list that account's shipments.
    verified_customer_id: Mapped[str | None] = mapped_column(ForeignKey("customer.id"))
    # The language the shipper writes in, "zh" or "en" (backend.language), read from every message.
    language: Mapped[str | None] = mapped_column(String(8))
    # When, during the current wait for a person, the shipper was told "a colleague will reply here"
    # or a person first wrote: the line is said once per wait, and never once a person is talking.
    waiting_notice_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # --- i20o: a queued conversation of an owned customer is offered to that owner first (username) since
    # `offered_at`; other agents see it once OWNER_FIRST_S has passed, decided at read time from these times.
    offered_to: Mapped[str | None] = mapped_column(String(64), default=None)
    offered_at: Mapped[datetime | None] = mapped_column(default=None)
    # When the offer watch recorded that the offer ran out (audited once, the queues redrawn).
    offer_expired_at: Mapped[datetime | None] = mapped_column(default=None)

    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.id", cascade="all, delete-orphan"
    )

    @validates("state")
    def _validate_state(self, _key: str, value: str) -> str:
        _check(value, CONVERSATION_STATES, "conversation state")
        return value


class Message(Base):
    """One line of a transcript; a replayed channel message is rejected by the unique constraint."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("conversation_id", "direction", "channel_message_id"),
        Index("ix_message_turn", "turn_state", "turn_lease_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(3))
    sender: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    channel_message_id: Mapped[str | None] = mapped_column(String(100))
    # Buttons offered with a bot message: [{"title": ..., "payload": ...}], so history can redraw them.
    buttons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONData)
    # The display name the shipper saw on an agent's message ("Li Wei"); None for the bot and older ones.
    author: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A shipper's message is a turn (TURN_STATES); None for outbound lines and messages stored before
    # turns were recorded. A turn left with_bot past its lease is taken up again (backend.hub.turns).
    turn_state: Mapped[str | None] = mapped_column(String(16), default=None)
    turn_lease_until: Mapped[datetime | None] = mapped_column(default=None)
    turn_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # What answering the turn takes, decided when it was stored: lines the hub says itself and the
    # request to the bot, so a process that takes the turn up again does the same.
    turn_plan: Mapped[dict[str, Any] | None] = mapped_column(JSONData, default=None)
    # Why a channel could not deliver this outbound message in the end (blocked bot, refused, network);
    # None: delivered, or not sent through a channel that reports it.
    delivery_error: Mapped[str | None] = mapped_column(String(200), default=None)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="message")

    @validates("direction", "sender")
    def _validate_vocab(self, key: str, value: str) -> str:
        _check(value, MESSAGE_DIRECTIONS if key == "direction" else MESSAGE_SENDERS, key)
        return value

    @validates("turn_state")
    def _validate_turn_state(self, _key: str, value: str | None) -> str | None:
        if value is not None:
            _check(value, TURN_STATES, "turn state")
        return value


class Attachment(Base):
    """A file a shipper sent (a photo of damage): stored under UPLOAD_DIR, described here."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(64))
    # Relative to UPLOAD_DIR, so the directory can move.
    path: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    message: Mapped[Message | None] = relationship(back_populates="attachments")


class Ticket(Base):
    """A complaint, hand-off or service request, with an optimistic-lock version."""

    __tablename__ = "ticket"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    conversation_id: Mapped[str | None] = mapped_column(String(200), index=True)
    channel: Mapped[str | None] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customer.id"), index=True)
    waybill: Mapped[str | None] = mapped_column(String(13), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(32))
    level: Mapped[str | None] = mapped_column(String(16))
    priority: Mapped[str | None] = mapped_column(String(2))
    responsibility: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), index=True)
    summary: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    customer_wants: Mapped[str | None] = mapped_column(Text)
    incident_when: Mapped[str | None] = mapped_column(String(200))
    extent: Mapped[str | None] = mapped_column(Text)
    declared_value: Mapped[Decimal | None] = mapped_column(Money)
    photo_status: Mapped[str | None] = mapped_column(String(16))
    remedy_offered: Mapped[str | None] = mapped_column(Text)
    agreed_resolution: Mapped[str | None] = mapped_column(Text)
    # The bot's remedies as a code and its facts (backend.complaints.remedies.remedy_to_json), read in each
    # reader's language; NULL when the text is an agent's own words (migration 0009).
    remedy_offered_facts: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    agreed_resolution_facts: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    stage_reached: Mapped[str | None] = mapped_column(String(16))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    recorded_by: Mapped[str | None] = mapped_column(String(100))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    satisfaction_comment: Mapped[str | None] = mapped_column(Text)
    # What the carrier pays the customer, once decided (above 500 CNY only with a supervisor's approval).
    compensation_cny: Mapped[Decimal | None] = mapped_column(Money)
    # The language the shipper wrote in when the ticket was opened: "zh" or "en" (backend.language).
    language: Mapped[str | None] = mapped_column(String(8), default="en")
    # The first-response deadline (DOMAIN.md's target for the priority, in business time).
    sla_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    # When a person first answered the shipper on this ticket; the SLA watch compares it with sla_due_at.
    first_responded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None]

    # sla_due_at is the name the API has always used; this is what it means.
    first_response_due_at = synonym("sla_due_at")

    events: Mapped[list[TicketEvent]] = relationship(back_populates="ticket", order_by="TicketEvent.id")

    # SQLAlchemy bumps the version on every UPDATE and checks it in the WHERE clause.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (typed by DeclarativeBase)

    @validates(
        "kind", "status", "category", "level", "priority", "responsibility", "photo_status", "stage_reached"
    )
    def _validate_vocab(self, key: str, value: str | None) -> str | None:
        allowed = {
            "kind": TICKET_KINDS,
            "status": TICKET_STATUSES,
            "category": CATEGORIES,
            "level": LEVELS,
            "priority": PRIORITIES,
            "responsibility": RESPONSIBILITIES,
            "photo_status": PHOTO_STATUSES,
            "stage_reached": COMPLAINT_STAGES,
        }[key]
        _check(value, allowed, key, nullable=key not in ("kind", "status"))
        return value

    @validates("satisfaction")
    def _validate_satisfaction(self, _key: str, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 5:
            raise ValueError(f"satisfaction must be 1 to 5; got {value!r}")
        return value


class TicketEvent(Base):
    """Append-only audit of every change to a ticket."""

    __tablename__ = "ticket_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any] | None]

    ticket: Mapped[Ticket] = relationship(back_populates="events")


# A compensation request waits (`pending`) until a supervisor decides; an agent may withdraw it.
COMPENSATION_REQUEST_STATUSES = ("pending", "approved", "rejected", "withdrawn")


class CompensationRequest(Base):
    """A compensation above the agent's limit: nothing is granted or promised until a supervisor decides.

    The amount may change while the request waits (the agent corrects it); a supervisor's decision names
    the amount it decides on, so a changed request is never approved blind. Every step is also a
    ticket_event (the append-only audit); this row is the request's current state.
    """

    __tablename__ = "compensation_request"
    # At most one request waits per ticket: two agents asking at once cannot both be waiting.
    __table_args__ = (
        Index(
            "uq_compensation_request_one_pending",
            "ticket_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    amount_cny: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    # Why the agent asks (for the supervisor), and the remedy to record on the ticket once approved.
    reason: Mapped[str | None] = mapped_column(Text)
    resolution: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]

    ticket: Mapped[Ticket] = relationship()

    @validates("status")
    def _validate_status(self, _key: str, value: str) -> str:
        _check(value, COMPENSATION_REQUEST_STATUSES, "status")
        return value


class Agent(Base):
    """A customer-service agent or supervisor who logs in to the console."""

    __tablename__ = "agent"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16), default="agent")
    # argon2id in PHC format (backend.security.passwords), or UNUSABLE_HASH for an account without one.
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The console's language, "zh" or "en", once the agent picks one; None follows the browser.
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # --- i20o: the agent set themselves away (the console's toggle): their customers' escalations go to
    # the queue at once instead of waiting for them.
    away: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    @validates("role")
    def _validate_role(self, _key: str, value: str) -> str:
        _check(value, AGENT_ROLES, "role")
        return value

    @property
    def actor(self) -> str:
        """How audit records name this person: `agent:li.wei`, `supervisor:zhang`."""
        return f"{self.role}:{self.username}"

    def set_password(self, password: str) -> None:
        """Store an argon2id hash of `password`."""
        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        """True when `password` matches the stored hash."""
        return verify_password(password, self.password_hash)


class ConsoleSession(Base):
    """A console login: the cookie holds a random token, the database only its SHA-256."""

    __tablename__ = "console_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), index=True)
    # Sent back in X-CSRF-Token or a form's csrf_token field with every call that changes something.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    agent: Mapped[Agent] = relationship(lazy="joined")


class LoginAttempt(Base):
    """One try at the console's login form: the throttle counts recent failures per name and per address."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "at"),
        Index("ix_login_attempt_client_ip_at", "client_ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # Lower-cased as typed (an unknown name is throttled like a known one).
    username: Mapped[str] = mapped_column(String(64))
    client_ip: Mapped[str] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEvent(Base):
    """Append-only audit of what is not about one ticket: logins, logouts, lockouts, account changes."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(50))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    conversation_id: Mapped[str | None] = mapped_column(String(200))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any] | None]


def _refuse_change(_mapper: Any, _connection: Any, target: Any) -> None:
    raise ValueError(f"{type(target).__name__} rows are append-only: add a new one instead")


# The audit trail is written once: the ORM refuses to update or delete a row of it.
for _audit in (TicketEvent, AuditEvent):
    event.listen(_audit, "before_update", _refuse_change)
    event.listen(_audit, "before_delete", _refuse_change)


class CannedReply(Base):
    """A ready-made answer (快捷回复): shared (owner None, kept by supervisors) or one agent's own."""

    __tablename__ = "canned_reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    title: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TelegramUpdate(Base):
    """A Telegram webhook update, stored before Telegram gets its 200 and kept until the hub took it.

    A process that dies between the 200 and the answer leaves the row unprocessed; after the lease
    (`claimed_at` + TELEGRAM_UPDATE_LEASE_S) any process claims it again and feeds it to the channel.
    """

    __tablename__ = "telegram_update"
    __table_args__ = (Index("ix_telegram_update_pending", "processed_at", "claimed_at"),)

    # Telegram numbers updates per bot: a redelivered update hits this primary key and changes nothing.
    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When a process last took the update in hand; another may take it once the lease has run out.
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)


# --- i19c: customer classes ------------------------------------------------------------------------


@event.listens_for(Customer, "before_insert")
def _class_written_from_outside_is_a_pin(_mapper: Any, _connection: Any, target: Customer) -> None:
    """A customer written with a class that no computation gave (the demo seed, a test's factory) keeps it:
    that class is the carrier's word, so it is pinned, as backend.services.integration.upsert_customer
    pins the class the carrier's systems send. The monthly computation then records its own class beside it.
    """
    if target.pinned_class is None and target.computed_class is None and target.customer_class:
        target.pinned_class = target.customer_class
        target.pinned_by = target.pinned_by or "carrier"
        target.pinned_at = target.pinned_at or utcnow()


class ScheduledJobRun(Base):
    """One run of a periodic job for one period ("customer_classes", "2026-12"), claimed by inserting it.

    The primary key is the claim: of several backend processes inserting the same (job, period), one
    succeeds and runs the job; the others hit the key and leave it. The claim is committed in the job's own
    transaction, so a process that dies mid-run leaves no row and the next tick of any process runs it.
    """

    __tablename__ = "scheduled_job_run"

    job: Mapped[str] = mapped_column(String(50), primary_key=True)
    period: Mapped[str] = mapped_column(String(20), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str] = mapped_column(String(100))
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    outcome: Mapped[str | None] = mapped_column(String(500), default=None)


# --- i19w: signed webhooks (backend.services.webhooks) ---
WEBHOOK_DELIVERY_STATUSES = ("pending", "delivered", "failed")


class WebhookEndpoint(Base):
    """A receiver of the carrier's systems that supervisors registered for ticket and hand-over events.

    The secret is kept as written because the sender signs with it (a hash cannot sign); it is shown once
    when the endpoint is made and never again (console, API, logs).
    """

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(String(200))
    secret: Mapped[str] = mapped_column(String(100))
    # Space-separated webhook event types (backend.services.webhooks.EVENT_TYPES).
    events: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event for one endpoint: the outbox row, written in the transaction of the change it reports."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        # The worker's questions: what is due, and what comes first per (endpoint, order key).
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_order", "endpoint_id", "order_key", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(36), index=True)
    event_type: Mapped[str] = mapped_column(String(50))
    # The ticket number or conversation id: deliveries with one key reach an endpoint in order.
    order_key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    # A worker that took the row sends it until then; after that (it died) another may take it.
    leased_until: Mapped[datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)

    @validates("status")
    def _validate_status(self, _key: str, value: str) -> str:
        _check(value, WEBHOOK_DELIVERY_STATUSES, "webhook delivery status")
        return value


def _webhook_outbox(session: Any, _context: Any, _instances: Any) -> None:
    # Imported here: the services import the models. Registered on every Session, so the bot's action
    # server, the CLI and the backend all fill the outbox, whatever service wrote the change.
    from backend.services.webhooks import enqueue_from_flush

    enqueue_from_flush(session)


def _webhook_core_update(state: Any) -> Any:
    # A conversation's state set with a plain UPDATE (claims, hand-overs decided in the database).
    from backend.services.webhooks import enqueue_from_update

    return enqueue_from_update(state)


event.listen(Session, "before_flush", _webhook_outbox)
event.listen(Session, "do_orm_execute", _webhook_core_update)
# --- i19n: proactive notices (backend.services.notices) ---------------------------------------------

NOTICE_KINDS = ("held", "late", "out_for_delivery", "delivered", "returned")
# pending: to send when due; deferred: due at the end of quiet hours; held_for_agent: a person has the
# conversation and decides (send or dismiss); sent; stopped: the shipper opted out; dismissed: an agent
# chose not to send it; failed: the channel refused it (never retried: notices are at most once).
NOTICE_DELIVERY_STATUSES = (
    "pending",
    "deferred",
    "held_for_agent",
    "sent",
    "stopped",
    "dismissed",
    "failed",
)


class ShipmentInquiry(Base):
    """A conversation asked the bot about a waybill: it hears of that shipment's changes for a while."""

    __tablename__ = "shipment_inquiry"
    __table_args__ = (
        UniqueConstraint("conversation_id", "waybill", name="uq_shipment_inquiry_conversation_id_waybill"),
        Index("ix_shipment_inquiry_waybill_last_asked_at", "waybill", "last_asked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    waybill: Mapped[str] = mapped_column(String(13))
    last_asked_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notice(Base):
    """One change worth telling shippers about: at most one per shipment and kind, ever."""

    __tablename__ = "notice"
    __table_args__ = (UniqueConstraint("shipment_id", "kind", name="uq_notice_shipment_id_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipment.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    # The scan that caused it (None for `late`, which the clock causes).
    shipment_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("shipment_event.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    deliveries: Mapped[list[NoticeDelivery]] = relationship(
        back_populates="notice", cascade="all, delete-orphan"
    )

    @validates("kind")
    def _validate_kind(self, _key: str, value: str) -> str:
        _check(value, NOTICE_KINDS, "notice kind")
        return value


class NoticeDelivery(Base):
    """A notice for one conversation: its text in that conversation's language and where it stands."""

    __tablename__ = "notice_delivery"
    __table_args__ = (
        UniqueConstraint("notice_id", "conversation_id", name="uq_notice_delivery_notice_id_conversation_id"),
        Index("ix_notice_delivery_status_due_at", "status", "due_at"),
        Index("ix_notice_delivery_conversation_id_status", "conversation_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    text: Mapped[str] = mapped_column(Text)
    # Not before this moment (the end of quiet hours for a deferred one).
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When it was sent, stopped, dismissed or failed, and by whom (an agent's username, or the watch).
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)

    notice: Mapped[Notice] = relationship(back_populates="deliveries")

    @validates("status")
    def _validate_status(self, _key: str, value: str) -> str:
        _check(value, NOTICE_DELIVERY_STATUSES, "notice delivery status")
        return value


class NoticeOptOut(Base):
    """The shipper of this conversation said "stop updates": no notice reaches it until they resume."""

    __tablename__ = "notice_opt_out"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NoticeCursor(Base):
    """How far the notice watch has read the tracking scans (one row, name "scans")."""

    __tablename__ = "notice_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- i20v: the weekly volume watch (backend.services.volume_watch) ---
VOLUME_FLAG_STATUSES = ("open", "handled")


class VolumeFlag(Base):
    """A customer whose shipments in one ISO week fell more than the set share below their trailing mean.

    One row per (customer, week): the weekly job and the CLI may both look at a week, and a rerun finds the
    row and adds nothing. The figures are kept as found, so the flag still says what was seen after late
    scans change the week. An agent marks it handled with what the customer said (the seed's care call:
    why did the volume drop, what do they plan next).
    """

    __tablename__ = "volume_flag"
    __table_args__ = (UniqueConstraint("customer_id", "week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    # ISO week on the carrier's clock, "2026-W48".
    week: Mapped[str] = mapped_column(String(8))
    week_count: Mapped[int] = mapped_column(Integer)
    week_freight: Mapped[Decimal] = mapped_column(Money)
    trailing_weeks: Mapped[int] = mapped_column(Integer)
    trailing_mean: Mapped[float] = mapped_column(Float)
    # (trailing mean - this week) / trailing mean: 0.6 is a 60% drop.
    drop_share: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    handled_by: Mapped[str | None] = mapped_column(String(100), default=None)
    handled_at: Mapped[datetime | None] = mapped_column(default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)

    @validates("status")
    def _validate_status(self, _key: str, value: str) -> str:
        _check(value, VOLUME_FLAG_STATUSES, "volume flag status")
        return value


# --- i20c: care campaigns and follow-up records (seed 001, 2.1–2.4: 回访 by phone or message) ---
CARE_CHANNELS = ("message", "phone")
CARE_PERIODS = ("week", "month", "quarter")
CARE_CAMPAIGN_STATUSES = ("active", "closed")
# due: selected for this period, nothing done yet; sent: the script went out on the customer's channel
# and the bot waits for the answer; answered: a follow-up record holds what the customer said (the only
# status that counts as covered); unreachable: nobody answered the call, or the period ended on a
# message that was never answered; skipped: an agent took the customer off this period's list, with why.
CARE_TARGET_STATUSES = ("due", "sent", "answered", "unreachable", "skipped")
# Where a follow-up record came from: a call by an agent, or the bot's message on Telegram or the widget.
FOLLOW_UP_CHANNELS = ("phone", "telegram", "web")


class CareCampaign(Base):
    """A supervisor's follow-up campaign: which customers, how (message or phone), how often.

    The audience is a filter, applied afresh each period: customer classes ("A" or "A,B"), one owner,
    customers the volume watch flagged, customers not contacted for some days. Each period's list is
    the campaign's targets for that period (backend.services.care).
    """

    __tablename__ = "care_campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(16), default="month")
    # Comma-separated customer classes ("A,B"); empty for every class.
    classes: Mapped[str] = mapped_column(String(16), default="")
    # Only this agent's customers (username), or every owner's.
    owner: Mapped[str | None] = mapped_column(String(64), default=None)
    # Only customers with an open volume-watch flag (the seed's "why did your volume drop").
    volume_drop: Mapped[bool] = mapped_column(Boolean, default=False)
    # Only customers nobody followed up with for this many days (None: whenever last contacted).
    not_contacted_days: Mapped[int | None] = mapped_column(Integer, default=None)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date, default=None)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)

    targets: Mapped[list[CareTarget]] = relationship(back_populates="campaign", cascade="all, delete-orphan")

    @validates("channel")
    def _validate_channel(self, _key: str, value: str) -> str:
        _check(value, CARE_CHANNELS, "care channel")
        return value

    @validates("period")
    def _validate_period(self, _key: str, value: str) -> str:
        _check(value, CARE_PERIODS, "care period")
        return value

    @validates("status")
    def _validate_status(self, _key: str, value: str) -> str:
        _check(value, CARE_CAMPAIGN_STATUSES, "care campaign status")
        return value


class CareTarget(Base):
    """One customer on one campaign's list for one period ("2026-12", "2026-W49", "2026-Q4"): at most
    one per (campaign, customer, period), so a rerun or a second process adds nothing."""

    __tablename__ = "care_target"
    __table_args__ = (
        UniqueConstraint(
            "campaign_id", "customer_id", "period", name="uq_care_target_campaign_id_customer_id_period"
        ),
        Index("ix_care_target_status_period", "status", "period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("care_campaign.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="due")
    # The customer's owner when the list was drawn: whose call list it is on.
    agent: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    # Required for coverage: an A-class or large-volume customer (seed 2.2: 100% of them each period).
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    # Message campaigns: the conversation the script went to, and when.
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversation.id", ondelete="SET NULL"), index=True, default=None
    )
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    # Why an agent skipped the customer this period, or what a failed call was.
    note: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    campaign: Mapped[CareCampaign] = relationship(back_populates="targets")

    @validates("status")
    def _validate_status(self, _key: str, value: str) -> str:
        _check(value, CARE_TARGET_STATUSES, "care target status")
        return value


class FollowUpRecord(Base):
    """One entry of the follow-up record (回访记录表): a call an agent made or a message the bot took.

    What the seed asks is kept in its own fields, so the monthly report can group it: how satisfied
    (1–5), suggestions on the service, why the volume dropped and what the customer plans next, and
    the next step we owe them (an open action until someone marks it done).
    """

    __tablename__ = "follow_up_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("care_campaign.id", ondelete="SET NULL"), index=True, default=None
    )
    target_id: Mapped[int | None] = mapped_column(
        ForeignKey("care_target.id", ondelete="SET NULL"), index=True, default=None
    )
    made_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # "bot" for a message campaign's answer, else the agent's username.
    made_by: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(16))
    # False: the call was not answered or the customer could not talk (no other field then).
    reached: Mapped[bool] = mapped_column(Boolean, default=True)
    satisfaction: Mapped[int | None] = mapped_column(Integer, default=None)
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    suggestions: Mapped[str | None] = mapped_column(Text, default=None)
    volume_reason: Mapped[str | None] = mapped_column(Text, default=None)
    plans: Mapped[str | None] = mapped_column(Text, default=None)
    next_step: Mapped[str | None] = mapped_column(Text, default=None)
    next_step_done_at: Mapped[datetime | None] = mapped_column(default=None)
    next_step_done_by: Mapped[str | None] = mapped_column(String(100), default=None)
    language: Mapped[str | None] = mapped_column(String(8), default=None)

    @validates("channel")
    def _validate_channel(self, _key: str, value: str) -> str:
        _check(value, FOLLOW_UP_CHANNELS, "follow-up channel")
        return value

    @validates("satisfaction")
    def _validate_satisfaction(self, _key: str, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 5:
            raise ValueError(f"satisfaction must be 1 to 5, not {value}")
        return value
