"""Auto-assignment: the least-loaded available agent of the ticket's level gets it.

Callers hold the organization's write lock (`db.lock_organization`), so two concurrent
creations never both see the same agent as least loaded.
"""

from datetime import datetime

from sqlalchemy import Row, and_, bindparam, func, select, update

from . import audit, notify
from .db import execute, lock_organization
from .extensions import db
from .models import TICKET_IS_OPEN, Agent, AgentLike, Availability, Level, Status, Ticket, TicketLike, utcnow


def pick_agent(org_id: int, level: Level) -> Row | None:
    """The active, available agent of `level` below capacity with the least open load."""
    return execute(PICK_AGENT, {"org_id": org_id, "level": level}).first()


def _pick_agent_statement():
    # Each candidate's open tickets are counted once, by grouping, and the count serves
    # both the capacity test and the order. (As a correlated subquery in both places it
    # was counted twice; its cost grows with the agents' open tickets.)
    load = func.count(Ticket.id)
    return (
        select(Agent.id, Agent.public_id, Agent.name, Agent.email)
        .outerjoin(
            Ticket,
            and_(Ticket.org_id == Agent.org_id, Ticket.assignee_id == Agent.id, TICKET_IS_OPEN),
        )
        .where(
            Agent.org_id == bindparam("org_id"),
            Agent.active.is_(True),
            Agent.level == bindparam("level"),
            Agent.availability == Availability.AVAILABLE,
        )
        .group_by(Agent.id)
        .having(load < Agent.capacity)
        .order_by(load, Agent.last_assigned_at.asc().nulls_first(), Agent.id)
        .limit(1)
    )


PICK_AGENT = _pick_agent_statement()


ASSIGNED_LAST = (
    update(Agent.__table__)
    .where(Agent.id == bindparam("agent_id"))
    .values(last_assigned_at=bindparam("now"))
)


def assign(ticket: Ticket, agent: Agent | None, actor: audit.Actor) -> None:
    """Give the ticket to `agent` (or nobody), with its audit event and notifications."""
    previous = ticket.assignee
    if previous is agent:
        return
    now = utcnow()
    ticket.assignee = agent
    ticket.assigned_at = now if agent else None
    if agent is not None and ticket.status == Status.OPEN:
        ticket.status = Status.IN_PROGRESS
    elif agent is None and ticket.status == Status.IN_PROGRESS:
        ticket.status = Status.OPEN
    announce(ticket, previous, agent, actor, now)


def announce(
    ticket: TicketLike,
    previous: AgentLike | None,
    agent: AgentLike | None,
    actor: audit.Actor,
    now: datetime,
    webhooks: list[Row] | None = None,
) -> None:
    """What an assignment records and tells, once the ticket names its new assignee; the
    agent's `last_assigned_at` becomes `now`. A creation passes the `webhooks` it read
    before the write lock (see `notify.webhooks_of`)."""
    if agent is not None:
        # A statement rather than an attribute change: the next pick in this transaction
        # (the demo seeds several tickets in one) sees it without waiting for a flush.
        execute(ASSIGNED_LAST, {"agent_id": agent.id, "now": now})
    audit.record(
        ticket,
        actor,
        "assigned",
        "assignee",
        previous.name if previous else None,
        agent.name if agent else None,
    )
    if agent is not None:
        notify.ticket_assigned(ticket, agent, webhooks)
    else:
        notify.signal(ticket.org_id, "queue")


def pull_unassigned(agent: Agent) -> list[Ticket]:
    """Give an available agent the oldest highest-priority unassigned tickets, up to capacity."""
    if not agent.active or agent.availability != Availability.AVAILABLE:
        return []
    lock_organization(agent.org_id)
    load = db.session.scalar(
        select(func.count(Ticket.id)).where(
            Ticket.org_id == agent.org_id, Ticket.assignee_id == agent.id, TICKET_IS_OPEN
        )
    )
    room = agent.capacity - load
    if room <= 0:
        return []
    tickets = db.session.scalars(
        select(Ticket)
        .where(
            Ticket.org_id == agent.org_id,
            Ticket.assignee_id.is_(None),
            Ticket.status == Status.OPEN,
            Ticket.level == agent.level,
        )
        .order_by(Ticket.priority.desc(), Ticket.created_at, Ticket.id)
        .limit(room)
    ).all()
    actor = audit.Actor(label="Auto-assignment")
    for ticket in tickets:
        assign(ticket, agent, actor)
    return tickets


def set_availability(agent: Agent, availability: Availability) -> list[Ticket]:
    """Change an agent's availability; becoming available pulls waiting tickets."""
    # Organization before agent, the order ticket creation locks them in: no deadlock.
    lock_organization(agent.org_id)
    agent.availability = Availability(availability)
    db.session.flush()
    return pull_unassigned(agent)
