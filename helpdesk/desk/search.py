"""`/search`: full-text search over every ticket of the organization, and the customer page."""

import re
from dataclasses import asdict, dataclass

from flask import abort, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import bindparam, select

from .. import htmx, search, tickets
from ..extensions import db
from ..htmx import render
from ..models import TICKET_IS_OPEN, Agent, Customer, Priority, Status, Ticket
from .queue import choice_arg, tag_names

MAX_QUERY = 200
MAX_PAGE = search.CANDIDATES // search.PAGE_SIZE + 1
# What a ticket reference looks like: `42`, `#42`, `INV-42`.
REFERENCE = re.compile(r"#?(?:[A-Za-z0-9]{1,10}-)?\d{1,12}")


@dataclass(frozen=True)
class SearchFilters:
    q: str = ""
    status: str = ""
    priority: str = ""
    page: int = 1

    def args(self, **changes) -> dict:
        """Non-empty parameters for url_for, with `changes` applied."""
        values = asdict(self) | changes
        return {key: value for key, value in values.items() if value and not (key == "page" and value == 1)}


def parse_filters(args) -> SearchFilters:
    """The query string's q, status, priority and page; a bad value is a 422 naming it."""
    q = args.get("q", "").strip()
    if len(q) > MAX_QUERY:
        abort(422, description=f"q: at most {MAX_QUERY} characters.")
    status, priority = choice_arg(args, "status", Status), choice_arg(args, "priority", Priority)
    page = args.get("page", "1")
    if not page.isdigit() or not 1 <= int(page) <= MAX_PAGE:
        abort(422, description=f"page: a page number from 1 to {MAX_PAGE}.")
    return SearchFilters(q=q, status=status, priority=priority, page=int(page))


def search_page():
    """Tickets matching the words of `q` in any status; a ticket number opens that ticket."""
    filters = parse_filters(request.args)
    if REFERENCE.fullmatch(filters.q) and not htmx.is_partial():
        ticket = tickets.find_ticket(current_user.org, filters.q.lstrip("#"))
        if ticket is not None:
            return redirect(url_for("desk.ticket", reference=ticket.reference), 303)
    found = search.search(
        current_user.org_id, filters.q,
        status=Status(filters.status) if filters.status else None,
        priority=Priority(filters.priority) if filters.priority else None,
        page=filters.page,
    )  # fmt: skip
    pages = max(1, -(-found.total // search.PAGE_SIZE))
    return render(
        "desk/search.html", "desk/_search.html", filters=filters, found=found, pages=pages,
        words=search.words(filters.q), tags_of=tag_names([ticket.id for ticket in found.tickets]),
        reference_prefix=f"{current_user.org.ticket_prefix}-",
        statuses=list(Status), priorities=list(Priority),
    )  # fmt: skip


CUSTOMER_TICKETS = 50


def _customer_tickets(is_open):
    """Up to CUSTOMER_TICKETS + 1 of a customer's open or past tickets, newest first (from
    ix_tickets_customer: organization, customer, creation)."""
    return (
        select(
            Ticket.id, Ticket.number, Ticket.subject, Ticket.status, Ticket.priority,
            Ticket.created_at, Ticket.updated_at, Ticket.meta, Agent.name.label("assignee"),
        )
        .outerjoin(Agent, Agent.id == Ticket.assignee_id)
        .where(
            Ticket.org_id == bindparam("org_id"), Ticket.customer_id == bindparam("customer_id"),
            TICKET_IS_OPEN if is_open else ~TICKET_IS_OPEN,
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(CUSTOMER_TICKETS + 1)
    )  # fmt: skip


OPEN_TICKETS, PAST_TICKETS = _customer_tickets(True), _customer_tickets(False)
CUSTOMER = select(Customer).where(
    Customer.org_id == bindparam("org_id"), Customer.public_id == bindparam("public_id")
)


def customer(public_id: str):
    """A customer of the organization: who they are, their open tickets and past ones."""
    found = db.session.scalar(CUSTOMER, {"org_id": current_user.org_id, "public_id": public_id})
    if found is None:
        abort(404)
    ids = {"org_id": found.org_id, "customer_id": found.id}
    open_tickets = db.session.execute(OPEN_TICKETS, ids).all()
    past_tickets = db.session.execute(PAST_TICKETS, ids).all()
    latest = max(open_tickets[:1] + past_tickets[:1], key=lambda row: row.created_at, default=None)
    return render(
        "desk/customer.html", "desk/_customer.html", customer=found,
        open_tickets=open_tickets[:CUSTOMER_TICKETS], past_tickets=past_tickets[:CUSTOMER_TICKETS],
        more_open=len(open_tickets) > CUSTOMER_TICKETS, more_past=len(past_tickets) > CUSTOMER_TICKETS,
        metadata=latest.meta if latest else {}, latest=latest,
        reference_prefix=f"{current_user.org.ticket_prefix}-",
    )  # fmt: skip
