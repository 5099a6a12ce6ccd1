"""What a ticket change tells people: notification rows, outbox deliveries, live signals.

Everything here is written in the caller's transaction, so a rolled-back change tells
nobody and a committed one loses no delivery; `helpdesk worker` sends the outbox.
"""

from flask import current_app

from .extensions import db
from .models import Agent, LiveEvent, Notification, OutboxMessage, Ticket, Webhook


def ticket_link(ticket: Ticket) -> str:
    """The ticket's page under BASE_URL; works outside a request (CLI, worker)."""
    base = current_app.config["BASE_URL"].rstrip("/")
    path = current_app.url_map.bind("localhost").build("desk.ticket", {"reference": ticket.reference})
    return base + path


def signal(org_id: int, kind: str, ticket: Ticket | None = None, agent: Agent | None = None):
    """Tell open pages that something changed; they re-fetch their own fragments."""
    db.session.add(
        LiveEvent(
            org_id=org_id,
            kind=kind,
            ticket_id=ticket.id if ticket else None,
            agent_id=agent.id if agent else None,
        )
    )


def _enqueue(org_id: int, kind: str, payload: dict) -> None:
    db.session.add(OutboxMessage(org_id=org_id, kind=kind, payload=payload))


def _webhooks(ticket: Ticket, event: str, data: dict) -> None:
    hooks = db.session.scalars(
        db.select(Webhook).where(Webhook.org_id == ticket.org_id, Webhook.active.is_(True))
    )
    for hook in hooks:
        if not hook.events or event in hook.events:
            _enqueue(
                ticket.org_id,
                "webhook",
                {"webhook_id": hook.id, "event": event, "data": data},
            )


def _summary(ticket: Ticket) -> dict:
    return {
        "id": ticket.public_id,
        "ticketNumber": ticket.reference,
        "subject": ticket.subject,
        "status": str(ticket.status),
        "priority": str(ticket.priority),
        "url": ticket_link(ticket),
    }


def ticket_created(ticket: Ticket, first_customer_message: str | None) -> None:
    """Slack and webhooks hear of a new ticket; the queues refresh."""
    org = ticket.org
    if org.slack_webhook_url:
        customer = ticket.customer
        _enqueue(
            org.id,
            "slack",
            {
                "url": org.slack_webhook_url,
                "ticket": _summary(ticket),
                "customer": customer.email or customer.external_id or customer.name or "",
                "first_customer_message": first_customer_message,
            },
        )
    _webhooks(ticket, "ticket.created", _summary(ticket))
    signal(ticket.org_id, "queue")


def ticket_assigned(ticket: Ticket, agent: Agent) -> None:
    """The assignee gets a notification, an email and a live signal."""
    text = f"{ticket.reference} assigned to you: {ticket.subject}"
    db.session.add(
        Notification(
            org_id=ticket.org_id, agent_id=agent.id, ticket_id=ticket.id, kind="assigned",
            text=text[:500],
        )
    )
    _enqueue(
        ticket.org_id,
        "email",
        {"template": "assigned", "to": agent.email, "agent_id": agent.id, "ticket_id": ticket.id},
    )
    _webhooks(ticket, "ticket.assigned", _summary(ticket) | {"assignee": agent.email})
    signal(ticket.org_id, "assigned", ticket=ticket, agent=agent)
    signal(ticket.org_id, "queue")


def customer_replied(ticket: Ticket) -> None:
    """The assignee hears of a customer's reply."""
    if ticket.assignee is None:
        signal(ticket.org_id, "ticket", ticket=ticket)
        return
    agent = ticket.assignee
    db.session.add(
        Notification(
            org_id=ticket.org_id, agent_id=agent.id, ticket_id=ticket.id, kind="reply",
            text=f"Customer replied on {ticket.reference}: {ticket.subject}"[:500],
        )
    )
    _enqueue(
        ticket.org_id,
        "email",
        {"template": "reply", "to": agent.email, "agent_id": agent.id, "ticket_id": ticket.id},
    )
    signal(ticket.org_id, "ticket", ticket=ticket, agent=agent)


def ticket_updated(ticket: Ticket, changes: dict) -> None:
    """Webhooks and open pages hear of a change to a ticket."""
    _webhooks(ticket, "ticket.updated", _summary(ticket) | {"changes": changes})
    signal(ticket.org_id, "ticket", ticket=ticket)
