"""`/api/v1`: Supportdesk's create contract and the native API around it."""

from flask import Blueprint, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..customers import CustomerNotFound, CustomerRef, find_customer, upsert_customer
from ..db import write_transaction
from ..extensions import db
from ..markdown import rendered
from ..models import Customer, Message, MessageRole, Organization, Priority, Status, Ticket, TicketLike
from ..notify import ticket_fields
from ..tickets import NewTicket, Opened, add_message, find_ticket, open_once
from . import schemas
from .context import actor, answer, current_org, once, read_body
from .errors import ApiError, isoformat, timestamp

bp = Blueprint("v1", __name__, url_prefix="/v1")
MAX_NUMBER = 2**31 - 1  # tickets.number is an INTEGER column


# --- Shapes -------------------------------------------------------------------------------


def ticket_out(ticket: TicketLike) -> dict:
    """The ticket as Supportdesk's create response has it."""
    customer, agent = ticket.customer, ticket.assignee
    return ticket_fields(ticket) | {
        "channel": str(ticket.channel),
        "customer": {
            "id": customer.public_id,
            "externalId": customer.external_id,
            "email": customer.email,
        },
        "assignedAgent": (
            {"id": agent.public_id, "name": agent.name, "email": agent.email} if agent else None
        ),
        "createdAt": isoformat(ticket.created_at),
    }


def message_out(message: Message) -> dict:
    return {
        "id": message.public_id,
        "role": str(message.role),
        "content": message.body,
        "contentHtml": message.body_html,
        "createdAt": isoformat(message.created_at),
    }


def ticket_detail(ticket: Ticket, messages: list[Message]) -> dict:
    """The create shape plus description, category, tags, metadata and the conversation."""
    return ticket_out(ticket) | {
        "description": ticket.description,
        "descriptionHtml": ticket.description_html,
        "category": ticket.category.name if ticket.category else None,
        "tags": [{"id": tag.public_id, "name": tag.name} for tag in ticket.tags],
        "metadata": ticket.meta or {},
        "messages": [message_out(message) for message in messages],
        "updatedAt": isoformat(ticket.updated_at),
    }


def customer_out(customer: Customer) -> dict:
    return {
        "id": customer.public_id,
        "externalId": customer.external_id,
        "email": customer.email,
        "name": customer.name,
        "createdAt": isoformat(customer.created_at),
    }


def public_messages(tickets: list[Ticket]) -> dict[int, list[Message]]:
    """The customer-visible conversation of each ticket (internal notes never leave)."""
    by_ticket: dict[int, list[Message]] = {ticket.id: [] for ticket in tickets}
    if by_ticket:
        messages = db.session.scalars(
            select(Message)
            .where(Message.ticket_id.in_(by_ticket), Message.internal.is_(False))
            .order_by(Message.created_at, Message.id)
        )
        for message in messages:
            by_ticket[message.ticket_id].append(message)
    return by_ticket


def detail_query(org: Organization):
    return select(Ticket).where(Ticket.org_id == org.id).options(
        selectinload(Ticket.tags),
        selectinload(Ticket.customer),
        selectinload(Ticket.assignee),
        selectinload(Ticket.category),
    )


def reference_or_404(value: str, what: str = "ticket") -> str:
    """A path value fit to query with; anything no id can contain finds nothing."""
    try:
        return schemas.storable(value)[:255]
    except ValueError:
        if what == "customer":
            raise CustomerNotFound(value) from None
        raise ApiError(404, "NOT_FOUND", "No ticket with that id or number") from None


# --- Views --------------------------------------------------------------------------------


@bp.post("/tickets/api-create")
def api_create():
    """Open a ticket for the customer with that externalId (Supportdesk's contract)."""
    payload, data = read_body(schemas.ApiCreateTicket)
    new = NewTicket(
        subject=payload.subject,
        customer=CustomerRef(external_id=payload.customerExternalId),
        description=payload.description,
        priority=Priority(payload.priority),
        category=payload.category,
        metadata=payload.metadata or {},
        tag_ids=list(payload.tagIds or []),
    )
    return answer(open_once(g.org_id, new, actor(), created, once("v1.api-create", data)))


def created(ticket: Opened) -> tuple[int, dict]:
    return 201, {"success": True, "data": ticket_out(ticket), "timestamp": timestamp()}


@bp.get("/tickets/<reference>")
def get_ticket(reference: str):
    """One ticket by UUID, PREFIX-NUMBER or number, with its conversation."""
    org = current_org()
    ticket = find_ticket(org, reference_or_404(reference))
    if ticket is None:
        raise ApiError(404, "NOT_FOUND", "No ticket with that id or number")
    messages = public_messages([ticket])[ticket.id]
    return jsonify({"success": True, "data": ticket_detail(ticket, messages)})


@bp.get("/tickets")
def list_tickets():
    """Tickets, newest first, filtered by customer and status; `nextCursor` pages on."""
    try:
        query = schemas.validate(schemas.TicketQuery, request.args.to_dict())
    except schemas.BadRequest as error:
        raise ApiError.invalid(error.details) from None
    org = current_org()
    limit = int(query.limit)
    statement = detail_query(org)
    if query.customerExternalId is not None:
        customer = find_customer(org.id, CustomerRef(external_id=query.customerExternalId))
        if customer is None:
            raise CustomerNotFound(query.customerExternalId)
        statement = statement.where(Ticket.customer_id == customer.id)
    if query.status is not None:
        statement = statement.where(Ticket.status == Status(query.status))
    if query.cursor is not None:
        # Numbers are 32-bit: a cursor past them all pages from the newest (PostgreSQL
        # refuses a bound beyond its integer range).
        statement = statement.where(Ticket.number <= min(int(query.cursor) - 1, MAX_NUMBER))
    tickets = db.session.scalars(statement.order_by(Ticket.number.desc()).limit(limit + 1)).all()
    page = tickets[:limit]
    messages = public_messages(page)
    return jsonify(
        {
            "success": True,
            "data": [ticket_detail(ticket, messages[ticket.id]) for ticket in page],
            "nextCursor": str(page[-1].number) if len(tickets) > limit else None,
        }
    )


@bp.post("/tickets/<reference>/messages")
def post_message(reference: str):
    """Add a message from the customer, an agent or a bot to a ticket's conversation."""
    payload, _ = read_body(schemas.AddMessage)
    body = rendered(payload.content)
    with write_transaction():
        org = current_org()
        ticket = find_ticket(org, reference_or_404(reference))
        if ticket is None:
            raise ApiError(404, "NOT_FOUND", "No ticket with that id or number")
        message = add_message(ticket, MessageRole(payload.role), body, actor())
        answer = {"success": True, "data": message_out(message)}
    return jsonify(answer), 201


@bp.post("/customers")
def upsert():
    """Create a customer, or update the one with that externalId (else that email)."""
    payload, _ = read_body(schemas.UpsertCustomer)
    with write_transaction():
        org = current_org(lock=True)
        if payload.externalId and payload.email:
            by_id = find_customer(org.id, CustomerRef(external_id=payload.externalId))
            by_email = find_customer(org.id, CustomerRef(email=payload.email))
            if by_id and by_email and by_id.id != by_email.id:
                raise ApiError(
                    409,
                    "CONFLICT",
                    "That email belongs to another customer",
                    [{"field": "email", "message": "belongs to another customer"}],
                )
        customer, created = upsert_customer(
            org, external_id=payload.externalId, email=payload.email, name=payload.name
        )
        body = {"success": True, "data": customer_out(customer)}
    return jsonify(body), 201 if created else 200


@bp.get("/customers/<external_id>")
def get_customer(external_id: str):
    """A customer by externalId."""
    external_id = reference_or_404(external_id, "customer")
    customer = find_customer(current_org().id, CustomerRef(external_id=external_id))
    if customer is None:
        raise CustomerNotFound(external_id)
    return jsonify({"success": True, "data": customer_out(customer)})
