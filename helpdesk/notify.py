"""What a ticket change tells people: notification rows, outbox deliveries, live signals.

Everything here is written in the caller's transaction, so a rolled-back change tells
nobody and a committed one loses no delivery; `helpdesk worker` sends the outbox.
"""

from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import Row, bindparam, select

from .db import add_rows, execute
from .enums import MessageRole
from .models import AgentLike, LiveEvent, Message, Notification, OutboxMessage, Ticket, TicketLike, Webhook


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


def mail_domain() -> str:
    """The domain of the Message-IDs we make: BASE_URL's host."""
    return urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"


def _enqueue(org_id: int, kind: str, payload: dict, message_id: int | None = None) -> None:
    add_rows(OutboxMessage, dict(org_id=org_id, kind=kind, payload=payload, message_id=message_id))


ACTIVE_WEBHOOKS = select(Webhook.id, Webhook.events).where(
    Webhook.org_id == bindparam("org_id"), Webhook.active.is_(True)
)


def webhooks_of(org_id: int) -> list[Row]:
    """The organization's active webhooks (id and events). A creation reads them before
    the write lock and passes them on; other changes leave them to be read here."""
    return execute(ACTIVE_WEBHOOKS, {"org_id": org_id}).all()


def _webhooks(
    ticket: TicketLike, event: str, hooks: list[Row] | None = None, message_id: int | None = None, **extra
) -> None:
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
                    message_id=message_id,
                )
                for hook_id in wanted
            ),
        )


def ticket_fields(ticket: TicketLike) -> dict:
    """What every outside view of a ticket starts with: webhooks, Slack, the API's answers."""
    return {
        "id": ticket.public_id,
        "ticketNumber": ticket.reference,
        "subject": ticket.subject,
        "status": str(ticket.status),
        "priority": str(ticket.priority),
    }


def _summary(ticket: TicketLike) -> dict:
    return ticket_fields(ticket) | {"url": ticket_link(ticket)}


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


def message_created(ticket: Ticket, message: Message) -> None:
    """A message of the conversation (never an internal note) goes out: an agent's reply
    to the customer by email when they have an address, and every message to the
    webhooks, so that an integration can relay the whole conversation."""
    customer = ticket.customer
    if message.role == MessageRole.AGENT and customer.email:
        payload = {"template": "customer_reply", "to": customer.email, "ticket_id": ticket.id}
        _enqueue(ticket.org_id, "email", payload, message_id=message.id)
    author = message.author
    _webhooks(
        ticket, "message.created", message_id=message.id,
        message={
            "id": message.public_id,
            "role": str(message.role),
            "content": message.body,
            "html": message.body_html,
            "author": {"name": author.name, "email": author.email} if author else None,
            "createdAt": message.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        customer={
            "id": customer.public_id, "externalId": customer.external_id,
            "email": customer.email, "name": customer.name,
        },
    )  # fmt: skip


def delivery_changed(org_id: int, ticket_id: int) -> None:
    """A reply's delivery was sent or failed: its ticket's open pages refresh."""
    add_rows(LiveEvent, dict(org_id=org_id, kind="ticket", ticket_id=ticket_id, agent_id=None))
