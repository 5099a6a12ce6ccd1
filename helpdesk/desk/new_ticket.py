"""`/tickets/new`: an agent opens a ticket for a customer on the phone or at the counter.

It goes through the one creation service (`tickets.open_once`), like the API and email:
channel WEB, routed, categorised and auto-assigned. The form carries a token used as
the request's idempotency key, so a double click opens one ticket.
"""

import secrets

from flask import redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import accounts, audit, idempotency, tickets
from ..customers import CustomerNotFound, CustomerRef, find_customer
from ..enums import Channel, Priority
from ..extensions import db
from ..htmx import render
from ..models import Category
from ..tickets import NewTicket, Once, Opened
from ..validation import InvalidValue

FIELDS = ("subject", "description", "customer", "customer_email", "customer_name", "priority", "category")
MAX_SUBJECT, MAX_DESCRIPTION = 255, 64 * 1024


def _categories() -> list[str]:
    return db.session.scalars(
        select(Category.name)
        .where(Category.org_id == current_user.org_id, Category.archived_at.is_(None))
        .order_by(Category.name)
    ).all()


def _page(status: int = 200, **context):
    context.setdefault("error", None)
    customer = context["form"].get("customer")
    context["customer"] = (
        find_customer(current_user.org_id, CustomerRef(public_id=customer)) if customer else None
    )
    return render(
        "desk/new_ticket.html", "desk/_new_ticket.html", status,
        categories=_categories(), priorities=list(Priority), **context,
    )  # fmt: skip


def new_ticket_form():
    """The form, blank or for the customer named by `?customer=<id>`."""
    form = {"priority": str(Priority.MEDIUM), "customer": request.args.get("customer", "")}
    return _page(form=form, once=secrets.token_urlsafe(18))


def _new_ticket(form: dict) -> NewTicket:
    """The form as the creation service's request; InvalidValue names the bad field."""
    subject = " ".join(form["subject"].split())
    if not subject:
        raise InvalidValue("subject", "Say in a few words what the ticket is about")
    if len(subject) > MAX_SUBJECT:
        raise InvalidValue("subject", f"at most {MAX_SUBJECT} characters")
    if len(form["description"]) > MAX_DESCRIPTION:
        raise InvalidValue("description", f"at most {MAX_DESCRIPTION // 1024} KiB")
    if form["customer"]:
        customer = CustomerRef(public_id=form["customer"])
    elif not form["customer_email"]:
        raise InvalidValue("customer_email", "Give the customer's email address")
    elif not accounts.EMAIL.match(form["customer_email"]) or len(form["customer_email"]) > 254:
        raise InvalidValue("customer_email", "That is not an email address")
    else:
        name = form["customer_name"][:255] or None
        customer = CustomerRef(email=form["customer_email"], name=name, create=True)
    try:
        priority = Priority(form["priority"] or Priority.MEDIUM)
    except ValueError:
        raise InvalidValue("priority", "Choose one of Low, Medium, High and Urgent") from None
    if form["category"] and form["category"] not in _categories():
        raise InvalidValue("category", "Choose one of the organization's categories")
    return NewTicket(
        subject=subject, customer=customer, description=form["description"].strip() or None,
        priority=priority, category=form["category"] or None, create_category=False,
        channel=Channel.WEB,
    )  # fmt: skip


def _reference(ticket: Opened) -> tuple[int, dict]:
    return 303, {"reference": ticket.reference}


def open_from_form():
    """Open the ticket and go to it; the form again, with the reason, when it cannot be."""
    form = {name: request.form.get(name, "").strip() for name in FIELDS}
    once = request.form.get("once", "")
    try:
        new = _new_ticket(form)
        answer = tickets.open_once(
            current_user.org_id, new, audit.Actor.of(current_user), _reference,
            Once("desk.new_ticket", once or None, form),
        )  # fmt: skip
    except InvalidValue as error:
        return _page(422, form=form, once=once, error=error)
    except CustomerNotFound:
        error = InvalidValue("customer", "That customer no longer exists: give an email address")
        return _page(422, form=form | {"customer": ""}, once=once, error=error)
    except tickets.QuotaReached:
        error = InvalidValue("subject", "This month's ticket quota is used up: an admin can raise it")
        return _page(422, form=form, once=once, error=error)
    except idempotency.KeyConflict:
        error = InvalidValue("subject", "This form already opened a ticket: send it again for another")
        return _page(422, form=form, once=secrets.token_urlsafe(18), error=error)
    return redirect(url_for("desk.ticket", reference=answer.body["reference"]), code=303)
