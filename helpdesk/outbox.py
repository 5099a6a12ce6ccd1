"""The delivery outbox as an admin sees it: what each delivery is about, and retrying
failed ones. The worker (helpdesk/worker.py) claims and sends; both share `retry`."""

from sqlalchemy import select, update

from .extensions import db
from .models import OutboxMessage, OutboxStatus, Ticket, utcnow

# A retried delivery starts again from its first attempt, due now.
AFRESH = dict(status=OutboxStatus.PENDING, attempts=0, locked_until=None)


def retry(message: OutboxMessage) -> bool:
    """Queue a failed delivery again; False when it had not failed."""
    if message.status != OutboxStatus.FAILED:
        return False
    for name, value in (AFRESH | {"next_attempt_at": utcnow()}).items():
        setattr(message, name, value)
    db.session.flush()
    return True


def retry_all(org_id: int) -> int:
    """Queue every failed delivery of the organization again; how many."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.org_id == org_id, OutboxMessage.status == OutboxStatus.FAILED)
        .values(**AFRESH, next_attempt_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount


def tickets_of(org_id: int, messages: list[OutboxMessage]) -> dict[int, Ticket]:
    """The tickets the emails among `messages` are about, by id."""
    ids = {m.payload.get("ticket_id") for m in messages if m.kind == "email" and m.payload}
    ids.discard(None)
    if not ids:
        return {}
    rows = db.session.scalars(select(Ticket).where(Ticket.org_id == org_id, Ticket.id.in_(ids)))
    return {ticket.id: ticket for ticket in rows}


def describe(message: OutboxMessage, tickets: dict[int, Ticket]) -> dict:
    """What a delivery is about, in words, from its payload."""
    payload = message.payload or {}
    if message.kind == "email":
        ticket = tickets.get(payload.get("ticket_id"))
        return {
            "what": f"Email ({payload.get('template', '?')}) to {payload.get('to', '?')}",
            "ticket": ticket.reference if ticket else None,
        }
    if message.kind == "slack":
        return {"what": "Slack message", "ticket": payload.get("ticket", {}).get("ticketNumber")}
    if message.kind == "webhook":
        return {
            "what": f"Webhook {payload.get('event', '?')}",
            "ticket": payload.get("data", {}).get("ticketNumber"),
        }
    return {"what": message.kind, "ticket": None}
