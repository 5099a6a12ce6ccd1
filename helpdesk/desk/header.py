"""The header every desk page shares: availability toggle and the notification bell."""

from flask import abort, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import update

from .. import assignment, htmx
from ..auth import safe_next
from ..db import write_transaction
from ..extensions import db
from ..htmx import fragment, render
from ..models import Agent, Availability, Notification, utcnow
from .pages import bell_for, notification_page

LAST_PAGE = 10_000  # beyond it a page number is a typo, not a page


def mark_read(agent: Agent, notification_id: int | None = None) -> int:
    """Mark one or all of the agent's notifications read; returns how many changed."""
    query = update(Notification).where(
        Notification.agent_id == agent.id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    result = db.session.execute(
        query.values(read_at=utcnow()), execution_options={"synchronize_session": False}
    )
    return result.rowcount


def _back():
    """Where a header form posted without htmx returns to: the page it came from."""
    return redirect(safe_next(request.form.get("next")), code=303)


def availability():
    """Set the agent's availability; becoming available pulls unassigned tickets."""
    try:
        value = Availability(request.form.get("availability", ""))
    except ValueError:
        abort(422, description="availability: choose available, away or offline.")
    with write_transaction():
        agent = current_user._get_current_object()
        pulled = assignment.set_availability(agent, value)
    if not htmx.is_partial():
        return _back()
    response = fragment("_availability.html", agent=agent)
    if pulled:
        htmx.trigger(response, "queue-changed")
        htmx.trigger(response, "notifications-changed")
    return response


def bell():
    """The bell's fragment, which it fetches again when notifications change."""
    return fragment("_bell.html", bell=bell_for(current_user))


def notifications():
    """Every notification of the agent, a page at a time, newest first."""
    number = request.args.get("page", 1, type=int)
    if not 1 <= number <= LAST_PAGE:
        abort(404)
    page = notification_page(current_user, number)
    return render("desk/notifications.html", "desk/_notifications.html", listing=page)


def read_all():
    """Mark every notification of the agent read: the bell (kept open) or the list
    that asked answers, and other parts showing notifications hear of it."""
    with write_transaction():
        changed = mark_read(current_user)
    if not htmx.is_partial():
        return _back()
    if request.headers.get("HX-Target") == "bell":
        response = fragment("_bell.html", bell=bell_for(current_user), bell_open=True)
    else:
        response = fragment("desk/_notifications.html", listing=notification_page(current_user, 1))
    if changed:
        htmx.trigger(response, "notifications-changed")
    return response


def read_one(notification_id: int):
    """Mark one notification read and open its ticket."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.agent_id != current_user.id:
        abort(404)
    ticket = notification.ticket
    with write_transaction():
        mark_read(current_user, notification_id)
    if ticket is not None:
        return redirect(url_for("desk.ticket", reference=ticket.reference), code=303)
    return redirect(url_for("desk.queue"), code=303)
