"""What a ticket change tells people: notification rows, outbox deliveries, live signals.

Everything here is written in the caller's transaction, so a rolled-back change tells
nobody and a committed one loses no delivery; `helpdesk worker` sends the outbox.
"""

from flask import current_app
from sqlalchemy import Row, bindparam, select

from .db import add_rows, execute
from .models import AgentLike, LiveEvent, Notification, OutboxMessage, Ticket, TicketLike, Webhook


def ticket_link(ticket: TicketLike) -> str:
    """The ticket's page under BASE_URL; works outside a request (CLI, worker)."""
    base = current_app.config["BASE_URL"].rstrip("/")
    path = current_app.url_map.bind("localhost").build("desk.ticket", {"reference": ticket.reference})
    return base + path


def signal(org_id: int, kind: str, ticket: TicketLike | None = None, agent: AgentLike | None = None):
    """Tell open pages that something changed; they re-fetch their own fragments."""
    add_rows(
        LiveEvent,
        dict(
            org_id=org_id,
            kind=kind,
            ticket_id=ticket.id if ticket else None,
            agent_id=agent.id if agent else None,
        ),
    )


def _enqueue(org_id: int, kind: str, payload: dict) -> None:
    add_rows(OutboxMessage, dict(org_id=org_id, kind=kind, payload=payload))


ACTIVE_WEBHOOKS = select(Webhook.id, Webhook.events).where(
    Webhook.org_id == bindparam("org_id"), Webhook.active.is_(True)
)


def webhooks_of(org_id: int) -> list[Row]:
    """The organization's active webhooks (id and events). A creation reads them before
    the write lock and passes them on; other changes leave them to be read here."""
    return execute(ACTIVE_WEBHOOKS, {"org_id": org_id}).all()


def _webhooks(ticket: TicketLike, event: str, hooks: list[Row] | None = None, **extra) -> None:
    """Queue `event` for every active webhook of the organization that wants it."""
    if hooks is None:
        hooks = webhooks_of(ticket.org_id)
    wanted = [hook.id for hook in hooks if not hook.events or event in hook.events]
    if wanted:
        data = _summary(ticket) | extra
        add_rows(
            OutboxMessage,
            *(
                dict(
                    org_id=ticket.org_id,
                    kind="webhook",
                    payload={"webhook_id": hook_id, "event": event, "data": data},
                )
                for hook_id in wanted
            ),
        )


def _summary(ticket: TicketLike) -> dict:
    return {
        "id": ticket.public_id,
        "ticketNumber": ticket.reference,
        "subject": ticket.subject,
        "status": str(ticket.status),
        "priority": str(ticket.priority),
        "url": ticket_link(ticket),
    }


def ticket_created(
    ticket: TicketLike, first_customer_message: str | None, *, slack_url: str | None, webhooks: list[Row]
) -> None:
    """Slack (at the organization's `slack_url`) and `webhooks` hear of a new ticket; the
    queues refresh."""
    if slack_url:
        customer = ticket.customer
        _enqueue(
            ticket.org_id,
            "slack",
            {
                "url": slack_url,
                "ticket": _summary(ticket),
                "customer": customer.email or customer.external_id or customer.name or "",
                "first_customer_message": first_customer_message,
            },
        )
    _webhooks(ticket, "ticket.created", webhooks)
    if ticket.assignee is None:  # else the assignment's own signal refreshes the queues
        signal(ticket.org_id, "queue")


def _tell(ticket: TicketLike, agent: AgentLike, kind: str, text: str) -> None:
    """An agent's in-app notification and its email (the template named `kind`)."""
    add_rows(
        Notification,
        dict(org_id=ticket.org_id, agent_id=agent.id, ticket_id=ticket.id, kind=kind, text=text[:500]),
    )
    _enqueue(
        ticket.org_id,
        "email",
        {"template": kind, "to": agent.email, "agent_id": agent.id, "ticket_id": ticket.id},
    )


def ticket_assigned(ticket: TicketLike, agent: AgentLike, webhooks: list[Row] | None = None) -> None:
    """The assignee gets a notification, an email and a live signal (which also refreshes
    every open queue)."""
    _tell(ticket, agent, "assigned", f"{ticket.reference} assigned to you: {ticket.subject}")
    _webhooks(ticket, "ticket.assigned", webhooks, assignee=agent.email)
    signal(ticket.org_id, "assigned", ticket=ticket, agent=agent)


def customer_replied(ticket: Ticket) -> None:
    """The assignee hears of a customer's reply."""
    if ticket.assignee is None:
        signal(ticket.org_id, "ticket", ticket=ticket)
        return
    agent = ticket.assignee
    _tell(ticket, agent, "reply", f"Customer replied on {ticket.reference}: {ticket.subject}")
    signal(ticket.org_id, "ticket", ticket=ticket, agent=agent)


def ticket_updated(ticket: Ticket, changes: dict) -> None:
    """Webhooks and open pages hear of a change to a ticket."""
    _webhooks(ticket, "ticket.updated", changes=changes)
    signal(ticket.org_id, "ticket", ticket=ticket)
