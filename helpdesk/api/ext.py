"""`/api/ext-v1`: Telemetron's create contract, a thin adapter onto the same service.

`customerId` names our customer's public id (a UUID) or, failing that, the customer's
externalId: Telemetron's own ids (`cust_a1b2c3d4e5f6`) are what a client migrating from it
holds, and importing them as externalIds keeps those clients working unchanged.
"""

from flask import Blueprint, g

from ..customers import CustomerRef, find_customer
from ..models import MessageRole, Priority
from ..tickets import NewMessage, NewTicket, Opened, open_once
from . import schemas
from .context import actor, answer, once, read_body

bp = Blueprint("ext", __name__, url_prefix="/ext-v1")


def customer_ref(org_id: int, payload: schemas.ExtCreateTicket) -> CustomerRef:
    """customerId first (our id, then externalId; unknown is a 404), else customerEmail."""
    if payload.customerId:
        by_public_id = find_customer(org_id, CustomerRef(public_id=payload.customerId))
        if by_public_id is not None:
            return CustomerRef(public_id=by_public_id.public_id)
        return CustomerRef(external_id=payload.customerId)
    return CustomerRef(email=payload.customerEmail, create=True)


@bp.post("/ticket/createTicket")
def create_ticket_view():
    """Open a ticket for a customer named by email or id (Telemetron's contract)."""
    payload, data = read_body(schemas.ExtCreateTicket)
    new = NewTicket(
        subject=payload.title,
        customer=customer_ref(g.org_id, payload),
        description=payload.description or None,
        priority=Priority(payload.priority.upper()),
        category=payload.category or None,
        create_category=False,
        messages=[NewMessage(MessageRole(m.role), m.content) for m in payload.messages or []],
    )
    return answer(open_once(g.org_id, new, actor(), created, once("ext-v1.createTicket", data)))


def created(ticket: Opened) -> tuple[int, dict]:
    return 200, {"success": True, "ticketId": ticket.public_id, "message": "Ticket created successfully"}
