"""The domain's fixed vocabularies, without the database layer: the CLI offers them as
choices before anything heavier is imported. models.py stores them."""

import enum


class Status(enum.StrEnum):
    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    WAITING = "WAITING"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"


class Priority(enum.StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    URGENT = "URGENT"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        return list(Priority).index(self) + 1


class Channel(enum.StrEnum):
    API = "API"
    WEB = "WEB"
    EMAIL = "EMAIL"


class Role(enum.StrEnum):
    ADMIN = "admin"
    AGENT = "agent"


class Level(enum.StrEnum):
    N1 = "N1"
    N2 = "N2"
    N3 = "N3"


class Availability(enum.StrEnum):
    AVAILABLE = "available"
    AWAY = "away"
    OFFLINE = "offline"


class MessageRole(enum.StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"


class CategorySource(enum.StrEnum):
    API = "api"
    RULE = "rule"
    AUTO = "auto"
    AGENT = "agent"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


# The events an outgoing webhook can subscribe to (docs/notifications.md).
WEBHOOK_EVENTS = ("ticket.created", "ticket.assigned", "ticket.updated", "message.created")


def label(value: object) -> str:
    """How a status or priority reads on a page: IN_PROGRESS is "In Progress"."""
    return str(value).replace("_", " ").title()
