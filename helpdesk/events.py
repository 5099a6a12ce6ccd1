"""Live push by polling: signals from the live_events table become htmx events.

Every gunicorn worker writes and reads the same table, so a ticket assigned through one
worker reaches a page served by another. The page polls about once a second with the id
of the last signal it saw; an answer carries only event names (`queue-changed`,
`ticket-changed-<id>`, `viewers-changed-<id>`, `notifications-changed`) in HX-Trigger,
and each listening element re-fetches its own fragment from its normal view, so
permission checks stay there.
"""

import json

from flask import Blueprint, abort, make_response, render_template, request
from flask_login import current_user
from sqlalchemy import bindparam, select

from . import htmx
from .auth import require_agent
from .extensions import db
from .models import Agent, LiveEvent

bp = Blueprint("events", __name__, url_prefix="/events")
bp.before_request(require_agent)

BATCH = 500
MAX_ID = 2**63 - 1  # the largest id either database stores


def event_names(agent: Agent, signals) -> list[str]:
    """The htmx events a batch of signals means for this agent's pages."""
    names: dict[str, None] = {}
    for signal in signals:
        if signal.kind == "viewers":  # someone opened the ticket: only its viewer list changes
            names[f"viewers-changed-{signal.ticket_id}"] = None
            continue
        if signal.kind in ("queue", "assigned"):
            names["queue-changed"] = None
        if signal.ticket_id is not None:
            names[f"ticket-changed-{signal.ticket_id}"] = None
        if signal.agent_id == agent.id and signal.kind in ("assigned", "ticket"):
            names["notifications-changed"] = None
    return list(names)


# Every open desk page asks each second: built once.
SIGNALS_AFTER = (
    select(LiveEvent.id, LiveEvent.kind, LiveEvent.ticket_id, LiveEvent.agent_id)
    .where(LiveEvent.org_id == bindparam("org_id"), LiveEvent.id > bindparam("after"))
    .order_by(LiveEvent.id)
    .limit(BATCH)
)


@bp.get("/")
def poll():
    """Signals after `after` for the agent's organization: 204 when there are none."""
    after = request.args.get("after", default="0")
    if not (after.isascii() and after.isdigit()) or int(after) > MAX_ID:
        abort(422, description="after: the id of the last signal seen, a whole number from 0.")
    after = int(after)
    signals = db.session.execute(
        SIGNALS_AFTER, {"org_id": current_user.org_id, "after": after}
    ).all()
    if not signals:
        return htmx.add_vary(make_response("", 204))
    response = make_response(render_template("_live.html", live_cursor=signals[-1].id))
    names = event_names(current_user, signals)
    if names:
        response.headers["HX-Trigger"] = json.dumps(dict.fromkeys(names))
    return htmx.add_vary(response)
