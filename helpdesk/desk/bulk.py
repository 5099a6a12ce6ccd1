"""Bulk actions on the queue: one change for the selected tickets, in one transaction."""

from urllib.parse import parse_qsl, urlsplit

from flask import redirect, request, url_for
from flask_login import current_user
from sqlalchemy import bindparam, func, select
from werkzeug.datastructures import MultiDict

from .. import audit, htmx, tickets
from ..db import write_transaction
from ..extensions import db
from ..models import Agent, Category, Ticket, TicketEvent
from ..validation import InvalidValue
from .ticket import Conflict, apply_field, check_unchanged, seen_version

MAX_SELECTED = 100
FIELDS = ("assignee", "status", "priority", "category", "tag")

NEWEST_EVENTS = (
    select(TicketEvent.ticket_id, func.max(TicketEvent.id))
    .where(TicketEvent.ticket_id.in_(bindparam("ticket_ids", expanding=True)))
    .group_by(TicketEvent.ticket_id)
)


def versions_of(ticket_ids: list[int]) -> dict[int, int]:
    """Each ticket's version (its newest audit event), which a bulk action carries per row."""
    if not ticket_ids:
        return {}
    return dict(db.session.execute(NEWEST_EVENTS, {"ticket_ids": ticket_ids}).all())


def choices(agent: Agent) -> dict:
    """What the bulk bar offers: the organization's active agents and categories."""
    return {
        "bulk_agents": db.session.execute(
            select(Agent.public_id, Agent.name)
            .where(Agent.org_id == agent.org_id, Agent.active.is_(True))
            .order_by(Agent.name)
        ).all(),
        "bulk_categories": db.session.execute(
            select(Category.public_id, Category.name)
            .where(Category.org_id == agent.org_id)
            .order_by(Category.name)
        ).all(),
    }


def _changes(form) -> dict[str, str]:
    changes = {field: form.get(field, "").strip() for field in FIELDS if form.get(field, "").strip()}
    if form.get("assignee") == "none":
        changes["assignee"] = ""
    if form.get("category") == "none":
        changes["category"] = ""
    if not changes:
        raise InvalidValue("action", "Choose what to change for the selected tickets.")
    return changes


def _selected(agent: Agent, form) -> list[tuple[Ticket, int | None]]:
    ids = list(dict.fromkeys(form.getlist("ticket")))
    if not ids:
        raise InvalidValue("ticket", "Select at least one ticket.")
    if len(ids) > MAX_SELECTED:
        raise InvalidValue("ticket", f"Select at most {MAX_SELECTED} tickets at once.")
    found = {
        ticket.public_id: ticket
        for ticket in db.session.scalars(
            select(Ticket).where(Ticket.org_id == agent.org_id, Ticket.public_id.in_(ids))
        )
    }
    if len(found) != len(ids):
        raise InvalidValue("ticket", "A selected ticket is not one of the organization's.")
    return [
        (found[public_id], seen_version({"seen": form.get(f"seen-{public_id}", "")}))
        for public_id in ids
    ]


def apply(agent: Agent, form) -> int:
    """Apply the chosen changes to every selected ticket, or to none: the whole action is
    one transaction, each change one audit event. Returns how many tickets changed."""
    changes = _changes(form)
    actor = audit.Actor.of(agent)
    changed = 0
    with write_transaction():
        for ticket, seen in _selected(agent, form):
            touched = False
            for field, value in changes.items():
                if field == "tag":
                    check_unchanged(ticket, "tags", seen)
                    names = [tag.name for tag in ticket.tags] + [value]
                    touched |= tickets.set_tags(ticket, tickets.tags_named(ticket.org_id, names), actor)
                    continue
                check_unchanged(ticket, field, seen)
                if field == "assignee" and value == "me":
                    value = agent.public_id
                touched |= apply_field(ticket, field, value, actor)
            changed += touched
    return changed


def _page_args():
    """The filters of the queue the action was sent from: the tab and filters may have
    changed (through htmx) since the bar's own URL was written."""
    current = request.headers.get("HX-Current-URL", "")
    if not current:
        return request.args
    return MultiDict(parse_qsl(urlsplit(current).query))


def bulk():
    """POST the selection and the change; answer the queue again, saying what happened."""
    from . import queue as queue_page  # the queue page renders the outcome

    def queue(**kw):
        return queue_page.queue(args=_page_args(), **kw)

    try:
        changed = apply(current_user, request.form)
    except InvalidValue as error:
        db.session.rollback()
        return queue(status=422, notice=f"{error.field}: {error.message}", keep=request.form)

    except Conflict as conflict:
        db.session.rollback()
        change = conflict.change
        notice = (
            f"{change.actor_label} changed a selected ticket meanwhile "
            f"(set {change.new_value or 'nothing'}): nothing was changed. Look again and apply once more."
        )
        return queue(status=409, notice=notice, keep=request.form)
    # Other open pages hear of it through the live signals each change sends.
    if not htmx.is_partial():
        return redirect(url_for("desk.queue", **request.args), code=303)
    return queue(notice=f"Updated {changed} ticket{'s' if changed != 1 else ''}.")
