"""The ticket page, its live parts, in-place editing, replies and notes."""

import json

from flask import abort, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import Row, bindparam, func, select
from sqlalchemy.orm import joinedload, selectinload

from .. import audit, htmx, outbox, presence, tickets
from ..db import write_transaction
from ..enums import label
from ..extensions import db
from ..htmx import render
from ..markdown import render_markdown, rendered
from ..models import (
    Agent,
    Category,
    Message,
    MessageRole,
    OutboxMessage,
    Priority,
    Status,
    Ticket,
    TicketEvent,
)
from ..validation import InvalidValue

PARTS = ("head", "fields", "customer", "thread", "timeline")
FIELDS = ("status", "priority", "category", "assignee", "tags")
TIMELINE_SIZE = 50
MAX_TAGS = 20
MAX_BODY = 64 * 1024


# The page's two long lists, built once with bound parameters (see db.execute).
# A reply's email to the customer comes with it: the page shows whether it went out.
THREAD = (
    select(
        Message.public_id, Message.role, Message.internal, Message.body_html,
        Message.created_at, Agent.name.label("author"), Message.original,
        OutboxMessage.id.label("delivery_id"), OutboxMessage.status.label("delivery"),
        OutboxMessage.last_error.label("delivery_error"), OutboxMessage.attempts.label("delivery_attempts"),
    )
    .outerjoin(Agent, Agent.id == Message.author_id)
    .outerjoin(OutboxMessage, (OutboxMessage.message_id == Message.id) & (OutboxMessage.kind == "email"))
    .where(Message.ticket_id == bindparam("ticket_id"))
    .order_by(Message.created_at, Message.id)
)  # fmt: skip
TIMELINE = (
    select(
        TicketEvent.actor_label, TicketEvent.action, TicketEvent.field,
        TicketEvent.old_value, TicketEvent.new_value, TicketEvent.created_at,
    )
    .where(TicketEvent.ticket_id == bindparam("ticket_id"))
    .order_by(TicketEvent.created_at.desc(), TicketEvent.id.desc())
    .limit(TIMELINE_SIZE)
)  # fmt: skip


def thread_of(ticket: Ticket) -> list[Row]:
    """The conversation, oldest first, with internal notes: plain rows, as the page shows
    them (a thread runs to hundreds of messages: rows cost a fraction of ORM objects)."""
    return db.session.execute(THREAD, {"ticket_id": ticket.id}).all()


def timeline_of(ticket: Ticket) -> list[Row]:
    """The newest audit events first, as plain rows."""
    return db.session.execute(TIMELINE, {"ticket_id": ticket.id}).all()


# What a part of the page needs loaded besides the ticket; the whole page loads them all.
LOADERS = {
    "thread": lambda ticket, context: {"messages": thread_of(ticket)},
    "timeline": lambda ticket, context: {"events": timeline_of(ticket)},
    "field_form": lambda ticket, context: (
        {"choices": choices(ticket, context["editing"]), "seen": version_of(ticket)}
        if context["editing"]
        else {}
    ),
}


def page(ticket: Ticket, status: int = 200, part: str = "page", **extra):
    """The whole ticket page, or for htmx one of its parts (`desk/ticket/_<part>.html`)."""
    context = dict(
        ticket=ticket, fields=FIELDS, editing=None, error=None, body="", kind="reply",
        timeline_size=TIMELINE_SIZE,
    )  # fmt: skip
    context |= extra
    whole = part == "page" or not htmx.is_partial()
    for name, load in LOADERS.items():
        if whole or name == part:
            context |= load(ticket, context)
    return render("desk/ticket.html", f"desk/ticket/_{part}.html", status, **context)


# What the whole page shows of a ticket's neighbours, loaded with the ticket itself.
WHOLE_PAGE = (
    joinedload(Ticket.customer),
    joinedload(Ticket.assignee),
    joinedload(Ticket.category),
    selectinload(Ticket.tags),
)


def ticket(reference: str):
    """One ticket of the agent's organization: readable without JavaScript."""
    return page(tickets.get_ticket_for(current_user, reference, *WHOLE_PAGE))


def viewing(reference: str):
    """The ticket page says it is open (every few seconds); answers who else has it open."""
    ticket = tickets.get_ticket_for(current_user, reference)
    with write_transaction():
        presence.viewing(ticket, current_user)
    return htmx.fragment(
        "desk/ticket/_viewers.html", ticket=ticket, viewers=presence.others_viewing(ticket, current_user),
        heartbeat=presence.HEARTBEAT_SECONDS,
    )  # fmt: skip


def part(reference: str, part: str):
    """One live part of the ticket page, re-fetched when the ticket changes."""
    if part not in PARTS:
        abort(404)
    ticket = tickets.get_ticket_for(current_user, reference)
    return page(ticket, part=part)


def _field_or_404(field: str) -> str:
    if field not in FIELDS:
        abort(404)
    return field


def field(reference: str, field: str):
    """An editable field as it shows (the fragment a cancelled edit swaps back)."""
    ticket = tickets.get_ticket_for(current_user, reference)
    return page(ticket, part="field", field=_field_or_404(field))


def edit_field(reference: str, field: str):
    """The control for one field, inside the field's element."""
    ticket = tickets.get_ticket_for(current_user, reference)
    field = _field_or_404(field)
    return page(ticket, part="field_form", field=field, editing=field)


def choices(ticket: Ticket, field: str) -> list[tuple[str, str]]:
    """(value, label) pairs a select offers for `field`; empty for free text."""
    if field == "status":
        return [(status.value, label(status)) for status in Status]
    if field == "priority":
        return [(priority.value, label(priority)) for priority in Priority]
    if field == "category":
        categories = db.session.scalars(
            select(Category)
            .where(Category.org_id == ticket.org_id, Category.archived_at.is_(None))
            .order_by(Category.name)
        )
        return [("", "No category")] + [(c.public_id, c.name) for c in categories]
    if field == "assignee":
        agents = db.session.scalars(
            select(Agent)
            .where(Agent.org_id == ticket.org_id, Agent.active.is_(True))
            .order_by(Agent.name)
        )
        return [("", "Unassigned")] + [(a.public_id, f"{a.name} ({a.availability})") for a in agents]
    return []


def apply_field(ticket: Ticket, field: str, raw: str, actor: audit.Actor) -> bool:
    """Save one field through its ticket service; InvalidValue says what is wrong."""
    raw = raw.strip()
    if field == "priority":
        if raw not in Priority.__members__:
            raise InvalidValue(field, f"Choose a priority: {', '.join(Priority)}.")
        return tickets.change_priority(ticket, Priority(raw), actor)
    if field == "status":
        if raw not in Status.__members__:
            raise InvalidValue(field, f"Choose a status: {', '.join(Status)}.")
        return tickets.change_status(ticket, Status(raw), actor)
    if field == "category":
        category = None
        if raw:
            category = db.session.scalar(
                select(Category).where(Category.org_id == ticket.org_id, Category.public_id == raw)
            )
            if category is None:
                raise InvalidValue(field, "Choose one of the organization's categories.")
        return tickets.change_category(ticket, category, actor)
    if field == "assignee":
        agent = None
        if raw:
            agent = db.session.scalar(
                select(Agent).where(
                    Agent.org_id == ticket.org_id, Agent.public_id == raw, Agent.active.is_(True)
                )
            )
            if agent is None:
                raise InvalidValue(field, "Choose an active agent of the organization.")
        return tickets.reassign(ticket, agent, actor)
    names = list(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))
    if len(names) > MAX_TAGS:
        raise InvalidValue(field, f"At most {MAX_TAGS} tags.")
    if any(len(name) > 60 for name in names):
        raise InvalidValue(field, "A tag has at most 60 characters.")
    return tickets.set_tags(ticket, tickets.tags_named(ticket.org_id, names), actor)


def changed(response, ticket: Ticket):
    """Tell the page's live parts to refresh once the swap has settled."""
    response.headers["HX-Trigger-After-Settle"] = json.dumps({f"ticket-changed-{ticket.id}": None})
    return response


# Safe concurrent edits. A ticket's version is its newest audit event: an edit form carries
# the version its agent saw, and a change to the same field made since then refuses the edit.
NEWEST_EVENT = select(func.max(TicketEvent.id)).where(TicketEvent.ticket_id == bindparam("ticket_id"))
CHANGED_SINCE = (
    select(TicketEvent.actor_label, TicketEvent.new_value, TicketEvent.created_at)
    .where(
        TicketEvent.ticket_id == bindparam("ticket_id"),
        TicketEvent.field == bindparam("field"),
        TicketEvent.id > bindparam("seen"),
    )
    .order_by(TicketEvent.id.desc())
    .limit(1)
)


def version_of(ticket: Ticket) -> int:
    return db.session.scalar(NEWEST_EVENT, {"ticket_id": ticket.id}) or 0


def seen_version(form) -> int | None:
    """The version an edit was made from; None when the client sent none (a script)."""
    raw = form.get("seen", "").strip()
    if not raw:
        return None
    if not raw.isdecimal() or len(raw) > 18:
        raise InvalidValue("seen", "The version an edit was made from is a number.")
    return int(raw)


class Conflict(Exception):
    """Someone changed the field since the agent saw it."""

    def __init__(self, change: Row):
        self.change = change


def check_unchanged(ticket: Ticket, field: str, seen: int | None) -> None:
    """Raise Conflict if `field` changed after version `seen`; the ticket's row is locked
    first (PostgreSQL), so two edits made from the same version cannot both pass."""
    if seen is None:
        return
    db.session.execute(select(Ticket.id).where(Ticket.id == ticket.id).with_for_update())
    change = db.session.execute(
        CHANGED_SINCE, {"ticket_id": ticket.id, "field": field, "seen": seen}
    ).first()
    if change is not None:
        raise Conflict(change)


def next_in_queue(agent: Agent, after: Ticket) -> Row | None:
    """The ticket to work on next: the agent's own in queue order, else the unassigned."""
    for assignee in (agent.id, None):
        row = db.session.execute(
            select(Ticket.number, Ticket.subject)
            .where(
                Ticket.org_id == agent.org_id, Ticket.assignee_id == assignee,
                Ticket.status.in_([Status.OPEN, Status.IN_PROGRESS]), Ticket.id != after.id,
            )
            .order_by(Ticket.priority.desc(), Ticket.created_at, Ticket.id)
            .limit(1)
        ).first()  # fmt: skip
        if row is not None:
            return row
    return None


def save_field(reference: str, field: str):
    """Save a field in one transaction with its audit event; swap the field back."""
    ticket = tickets.get_ticket_for(current_user, reference)
    field = _field_or_404(field)
    raw = request.form.get(field, "")
    try:
        seen = seen_version(request.form)
        with write_transaction():
            check_unchanged(ticket, field, seen)
            apply_field(ticket, field, raw, audit.Actor.of(current_user))
    except InvalidValue as error:
        return page(ticket, 422, "field_form", field=field, editing=field, error=error.message, value=raw)
    except Conflict as conflict:
        db.session.refresh(ticket)
        stale = {"field": field, "change": conflict.change, "mine": raw.strip()}
        return page(ticket, 409, "field", field=field, conflict=stale | {"seen": version_of(ticket)})
    if not htmx.is_partial():
        return redirect(url_for("desk.ticket", reference=ticket.reference), code=303)
    after = {}
    if field == "status" and ticket.status in (Status.RESOLVED, Status.CLOSED):
        after["next_ticket"] = next_in_queue(current_user, ticket)
        after["next_prefix"] = ticket.org.ticket_prefix
    return changed(page(ticket, part="field", field=field, **after), ticket)


def post_message(reference: str):
    """Reply to the customer, or add an internal note, from the ticket page."""
    ticket = tickets.get_ticket_for(current_user, reference)
    body = request.form.get("body", "")
    kind = "note" if request.form.get("kind") == "note" else "reply"
    error = None
    if not body.strip():
        error = "Write a message first."
    elif len(body) > MAX_BODY:
        error = f"A message has at most {MAX_BODY // 1024} KiB."
    if error:
        return page(ticket, 422, "reply", error=error, body=body, kind=kind)
    message = rendered(body)
    with write_transaction():
        tickets.add_message(
            ticket, MessageRole.AGENT, message, audit.Actor.of(current_user), internal=kind == "note"
        )
    if not htmx.is_partial():
        return redirect(url_for("desk.ticket", reference=ticket.reference, _anchor="thread"), code=303)
    return changed(page(ticket, part="reply"), ticket)


def preview():
    """The Markdown of the reply box as it will show (not stored)."""
    body = request.form.get("body", "")[:MAX_BODY]
    return render("desk/preview.html", "desk/_preview.html", html=render_markdown(body))


def retry_delivery(reference: str, delivery_id: int):
    """Send a reply's failed email again, from its place in the conversation."""
    ticket = tickets.get_ticket_for(current_user, reference)
    with write_transaction():
        delivery = db.session.get(OutboxMessage, delivery_id)
        if delivery is None or delivery.message_id is None or delivery.payload.get("ticket_id") != ticket.id:
            abort(404)
        outbox.retry(delivery)
    if not htmx.is_partial():
        return redirect(url_for("desk.ticket", reference=ticket.reference, _anchor="thread"), code=303)
    return page(ticket, part="thread")
