"""The domain: every row belongs to one organization."""

import enum
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    desc,
    event,
    literal_column,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from . import search_index
from .enums import (
    Availability,
    CategorySource,
    Channel,
    Level,
    MessageRole,
    OutboxStatus,
    Priority,
    Role,
    Status,
)
from .extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator):
    """Stores UTC; always returns an aware datetime in UTC, on SQLite too, and on a
    PostgreSQL server whose time zone is not UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: use helpdesk.models.utcnow()")
        if value is not None and dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None or value.tzinfo is UTC:
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS, Status.WAITING)
# The same, as the SQL of a condition on `tickets.status`. Queries write it into the
# statement rather than binding it: a database reads a partial index (ix_tickets_open*
# below) only for a query whose condition it can see implies the index's.
OPEN_SQL = f"status IN ({', '.join(repr(str(status)) for status in OPEN_STATUSES)})"


class PriorityType(TypeDecorator):
    """Priority stored as its rank, so that queues sort by it through an index."""

    impl = SmallInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else Priority(value).rank

    def process_result_value(self, value, dialect):
        return None if value is None else list(Priority)[value - 1]


def enum_column(enum_type: type[enum.StrEnum], **kw: Any):
    """A VARCHAR holding the enum's value, checked on the Python side."""
    return mapped_column(
        SAEnum(
            enum_type,
            native_enum=False,
            create_constraint=False,
            length=20,
            values_callable=lambda members: [m.value for m in members],
            validate_strings=True,
        ),
        **kw,
    )


class Organization(db.Model):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    ticket_prefix: Mapped[str] = mapped_column(String(10))
    # The last ticket number handed out; only ever incremented, so numbers are never reused.
    ticket_seq: Mapped[int] = mapped_column(Integer, default=0)
    monthly_quota: Mapped[int | None] = mapped_column(Integer)
    slack_webhook_url: Mapped[str | None] = mapped_column(String(500))
    # The classifier's confidence below which a guess is not applied; None: the configured one.
    classifier_threshold: Mapped[float | None] = mapped_column(Float)
    # Prefixes it had before `ticket_prefix`, space-separated: their references still resolve.
    former_prefixes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Agent(UserMixin, db.Model):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    # Login is by email alone, so an email is unique across the whole instance.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = enum_column(Role, default=Role.AGENT)
    level: Mapped[Level] = enum_column(Level, default=Level.N1)
    availability: Mapped[Availability] = enum_column(Availability, default=Availability.OFFLINE)
    capacity: Mapped[int] = mapped_column(Integer, default=20)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    org: Mapped[Organization] = relationship(lazy="joined")

    # The sign-in this request came with (see auth.py); Flask-Login stores its key.
    session_key = None  # the session cookie's key
    session_id = None  # its agent_sessions row

    def get_id(self) -> str:
        return self.public_id

    def get_session_key(self) -> str | None:
        return self.session_key

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class Customer(db.Model):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("org_id", "external_id"),
        UniqueConstraint("org_id", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    external_id: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KeyScope(enum.StrEnum):
    TICKETS = "tickets"  # everything the API did before scopes
    ADMIN = "admin"  # also the admin API (categories, tags, routing rules)


class ApiKey(db.Model):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[KeyScope] = enum_column(KeyScope, default=KeyScope.TICKETS, server_default="tickets")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    org: Mapped[Organization] = relationship(lazy="joined")


def name_key(name: str) -> str:
    """What makes two category or tag names the same: case is ignored (as SQL's lower())."""
    return name.strip().lower()


class Category(db.Model):
    __tablename__ = "categories"
    # Unique ignoring case: `name_key` is the lower-cased name, kept in step by `_key`.
    # (The older exact-name constraint stays: SQLite could only drop it by rebuilding the
    # table, and the unique `name_key` implies it. Likewise `name_key` is nullable there.)
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        Index("uq_categories_org_name_key", "org_id", "name_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100), nullable=True)
    # An archived category is no longer offered or matched; its tickets keep it.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @validates("name")
    def _key(self, _attribute: str, name: str) -> str:
        self.name_key = name_key(name)
        return name


class Tag(db.Model):
    __tablename__ = "tags"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        Index("uq_tags_org_name_key", "org_id", "name_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(60))
    name_key: Mapped[str] = mapped_column(String(60), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @validates("name")
    def _key(self, _attribute: str, name: str) -> str:
        self.name_key = name_key(name)
        return name


ticket_tags = Table(
    "ticket_tags",
    db.metadata,
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


# The queues' order starts with the most urgent: `priority DESC` for the indexes below, as
# an expression that Alembic's comparison with the migrated database matches on both
# databases (`text("priority DESC")` shows as a difference on SQLite).
PRIORITY_DESC = desc(literal_column("priority"))


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("org_id", "number"),
        Index("ix_tickets_queue", "org_id", "status", "priority", "created_at"),
        Index("ix_tickets_assignee", "org_id", "assignee_id", "status"),
        # Open tickets in queue order (most urgent, then oldest): All open, and Mine or
        # Unassigned, read a page in order instead of sorting every open ticket for it.
        Index(
            "ix_tickets_open", "org_id", PRIORITY_DESC, "created_at", "id",
            sqlite_where=text(OPEN_SQL), postgresql_where=text(OPEN_SQL),
        ),
        Index(
            "ix_tickets_open_assignee", "org_id", "assignee_id", PRIORITY_DESC,
            "created_at", "id", sqlite_where=text(OPEN_SQL), postgresql_where=text(OPEN_SQL),
        ),
        # The same two orders by last update (the queues' "Last updated first").
        Index(
            "ix_tickets_open_updated", "org_id", "updated_at", "id",
            sqlite_where=text(OPEN_SQL), postgresql_where=text(OPEN_SQL),
        ),
        Index(
            "ix_tickets_open_assignee_updated", "org_id", "assignee_id", "updated_at", "id",
            sqlite_where=text(OPEN_SQL), postgresql_where=text(OPEN_SQL),
        ),
        # A queue filtered by one status (Closed: most tickets) in either order.
        Index("ix_tickets_status_order", "org_id", "status", PRIORITY_DESC, "created_at", "id"),
        Index("ix_tickets_status_updated", "org_id", "status", "updated_at", "id"),
        Index("ix_tickets_customer", "org_id", "customer_id", "created_at"),
        Index("ix_tickets_created", "org_id", "created_at"),
        # The Message-ID of the email that opened it: the same mail twice opens one ticket.
        Index("uq_tickets_org_id_email_message_id", "org_id", "email_message_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    number: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[Status] = enum_column(Status, default=Status.OPEN)
    priority: Mapped[Priority] = mapped_column(PriorityType, default=Priority.MEDIUM)
    channel: Mapped[Channel] = enum_column(Channel, default=Channel.API)
    level: Mapped[Level] = enum_column(Level, default=Level.N1)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    category_source: Mapped[CategorySource | None] = enum_column(CategorySource)
    category_confidence: Mapped[float | None] = mapped_column(Float)
    meta: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_message_id: Mapped[str | None] = mapped_column(String(255))

    org: Mapped[Organization] = relationship()
    customer: Mapped[Customer] = relationship()
    assignee: Mapped[Agent | None] = relationship()
    category: Mapped[Category | None] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=ticket_tags, order_by=Tag.name)

    @property
    def reference(self) -> str:
        return f"{self.org.ticket_prefix}-{self.number}"


class AgentLike(Protocol):
    """What a ticket's audit trail and notifications read of an agent: an `Agent`, or the
    row assignment picked one by."""

    id: int
    public_id: str
    name: str
    email: str


class CustomerLike(Protocol):
    """An API answer's and a notification's customer: a `Customer`, or its row."""

    id: int
    public_id: str
    external_id: str | None
    email: str | None
    name: str | None


class TicketLike(Protocol):
    """What the audit trail, notifications and the API's answer read of a ticket: a
    `Ticket`, or the `tickets.Opened` a creation returns instead of reading it back."""

    id: int
    public_id: str
    org_id: int
    number: int
    subject: str
    status: Status
    priority: Priority
    channel: Channel
    created_at: datetime

    @property
    def reference(self) -> str: ...

    @property
    def customer(self) -> CustomerLike: ...

    @property
    def assignee(self) -> AgentLike | None: ...


# `Ticket.status.in_(OPEN_STATUSES)` with the statuses written in, as OPEN_SQL says.
TICKET_IS_OPEN = Ticket.status.in_([literal_column(repr(str(s))) for s in OPEN_STATUSES])


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_ticket", "ticket_id", "created_at"),
        # An email's Message-ID: ours on replies we send, the sender's on mail taken in
        # (the same mail twice is stored once).
        Index("uq_messages_org_id_email_message_id", "org_id", "email_message_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    role: Mapped[MessageRole] = enum_column(MessageRole)
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    email_message_id: Mapped[str | None] = mapped_column(String(255))
    # An emailed message as it arrived, quoted history and signature included.
    original: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[Agent | None] = relationship()


class RoutingRule(db.Model):
    """Ordered conditions → actions; see helpdesk/routing.py for their vocabulary."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    conditions: Mapped[list] = mapped_column(JSON, default=list)
    actions: Mapped[dict] = mapped_column(JSON, default=dict)
    stop: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketEvent(db.Model):
    """Audit trail: who changed what on a ticket, from what, to what, when."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket", "ticket_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    actor_label: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(30))
    field: Mapped[str | None] = mapped_column(String(30))
    old_value: Mapped[str | None] = mapped_column(String(255))
    new_value: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[Agent | None] = relationship()


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_agent", "agent_id", "read_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(String(500))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket | None] = relationship()


class CannedReply(db.Model):
    """A saved reply: the organization's (no agent) or one agent's own."""

    __tablename__ = "canned_replies"
    __table_args__ = (Index("ix_canned_replies_org", "org_id", "agent_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def shared(self) -> bool:
        return self.agent_id is None


class TicketViewer(db.Model):
    """Who has a ticket's page open: each open page says so every few seconds."""

    __tablename__ = "ticket_viewers"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(db.Model):
    """A pending delivery (email, Slack, webhook), written in the transaction that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_message", "message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[OutboxStatus] = enum_column(OutboxStatus, default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The conversation message this delivers (a reply to the customer, message.created).
    message_id: Mapped[int | None] = mapped_column(Integer)


class IngestFailure(db.Model):
    """An email that could not be taken in, kept with the reason for the admin page."""

    __tablename__ = "ingest_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    sender: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(255))
    email_message_id: Mapped[str | None] = mapped_column(String(255))
    # The start of the mail as received (decoded leniently), for diagnosis.
    raw: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Webhook(db.Model):
    """An outgoing webhook: JSON bodies signed with HMAC-SHA256 of the secret."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(128))
    events: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyKey(db.Model):
    """The first response to a create request, replayed for retries with the same key."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("org_id", "endpoint", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    endpoint: Mapped[str] = mapped_column(String(60))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginAttempt(db.Model):
    """Failed-login counts per account or address, shared by every worker."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AgentSession(db.Model):
    """One sign-in: the session cookie names it by a key only its hash is stored of.

    Ended by logout, by `auth.end_sessions` (password change, deactivation), or by the
    idle and absolute timeouts. A "keep me signed in" sign-in also has a remember token
    (hashed here too), replaced each time it restores the session.
    """

    __tablename__ = "agent_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember_hash: Mapped[str | None] = mapped_column(String(64))
    remember_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LiveEvent(db.Model):
    """A signal for open pages ("ticket changed", "queue changed"), shared by all workers."""

    __tablename__ = "live_events"
    __table_args__ = (Index("ix_live_events_org", "org_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    kind: Mapped[str] = mapped_column(String(30))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AdminEvent(db.Model):
    """The admin audit log: who changed which setting, from what, to what, when."""

    __tablename__ = "admin_events"
    __table_args__ = (Index("ix_admin_events_org", "org_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    actor_label: Mapped[str] = mapped_column(String(120))
    # Where the change came from: "web" (the admin pages), "api" or "cli".
    source: Mapped[str] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(255))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# db.create_all() creates the full-text index and its triggers too (see search_index.py).
event.listen(db.metadata, "after_create", search_index.after_create)
