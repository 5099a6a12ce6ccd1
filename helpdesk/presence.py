"""Who else has a ticket open: each open ticket page says so every few seconds.

A viewer counts while their page said so within FRESH_SECONDS. An agent who arrives (no
fresh row of theirs before) sends a live signal, so the others' pages show them at once;
one who leaves drops out when their row goes stale.
"""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from . import notify
from .extensions import db
from .models import Agent, Ticket, TicketViewer, utcnow

HEARTBEAT_SECONDS = 15
FRESH_SECONDS = 40


def _upsert(ticket_id: int, agent_id: int, now):
    insert = (postgresql if db.engine.dialect.name == "postgresql" else sqlite).insert
    statement = insert(TicketViewer).values(ticket_id=ticket_id, agent_id=agent_id, seen_at=now)
    return statement.on_conflict_do_update(
        index_elements=["ticket_id", "agent_id"], set_={"seen_at": now}
    )


def viewing(ticket: Ticket, agent: Agent) -> None:
    """Record that `agent` has `ticket` open (in the caller's write transaction)."""
    now = utcnow()
    previous = db.session.scalar(
        select(TicketViewer.seen_at).where(
            TicketViewer.ticket_id == ticket.id, TicketViewer.agent_id == agent.id
        )
    )
    db.session.execute(_upsert(ticket.id, agent.id, now))
    if previous is None or previous < now - timedelta(seconds=FRESH_SECONDS):
        notify.signal(ticket.org_id, "viewers", ticket=ticket)


def others_viewing(ticket: Ticket, agent: Agent) -> list[str]:
    """The names of the other agents who have the ticket open now."""
    since = utcnow() - timedelta(seconds=FRESH_SECONDS)
    return list(
        db.session.scalars(
            select(Agent.name)
            .join(TicketViewer, TicketViewer.agent_id == Agent.id)
            .where(
                TicketViewer.ticket_id == ticket.id,
                TicketViewer.agent_id != agent.id,
                TicketViewer.seen_at >= since,
            )
            .order_by(Agent.name)
        )
    )
