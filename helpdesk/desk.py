"""The agent's desk: queues and tickets."""

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from .extensions import db
from .models import OPEN_STATUSES, Ticket
from .tickets import get_ticket_for

bp = Blueprint("desk", __name__)


@bp.before_request
@login_required
def require_agent():
    """Every desk page is for a signed-in agent."""


@bp.get("/")
def queue():
    """Open tickets of the agent's organization, by priority then age."""
    tickets = db.session.scalars(
        db.select(Ticket)
        .where(Ticket.org_id == current_user.org_id, Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.priority.desc(), Ticket.created_at)
        .limit(50)
    ).all()
    return render_template("desk/queue.html", tickets=tickets)


@bp.get("/tickets/<reference>")
def ticket(reference: str):
    """One ticket of the agent's organization."""
    ticket = get_ticket_for(current_user, reference)
    return render_template("desk/ticket.html", ticket=ticket)
