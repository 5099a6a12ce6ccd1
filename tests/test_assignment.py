"""Auto-assignment (SPEC §3), through the ticket service."""

from datetime import timedelta

from helpdesk import assignment
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import (
    Agent,
    Availability,
    Level,
    Notification,
    OutboxMessage,
    Priority,
    Status,
    Ticket,
    TicketEvent,
    utcnow,
)

from . import factories

AVAILABLE = Availability.AVAILABLE


def fresh(model, id_):
    db.session.rollback()
    return db.session.get(model, id_)


def test_nobody_available_leaves_ticket_open_and_unassigned(org):
    factories.make_agent(org, availability=Availability.AWAY)
    ticket = factories.make_ticket(org)
    assert ticket.assignee_id is None
    assert ticket.status == Status.OPEN


def test_assigns_available_agent_and_tells_them(org):
    agent = factories.make_agent(org, availability=AVAILABLE)
    ticket = factories.make_ticket(org)
    assert ticket.assignee_id == agent.id
    assert ticket.status == Status.IN_PROGRESS
    assert db.session.scalar(db.select(Notification).where(Notification.agent_id == agent.id))
    email = db.session.scalar(db.select(OutboxMessage).where(OutboxMessage.kind == "email"))
    assert email.payload["to"] == agent.email
    actions = db.session.scalars(
        db.select(TicketEvent.action).where(TicketEvent.ticket_id == ticket.id)
    ).all()
    assert actions == ["created", "assigned"]


def test_least_loaded_first_then_least_recently_assigned(org):
    busy = factories.make_agent(org, availability=AVAILABLE)
    idle = factories.make_agent(org, availability=Availability.AWAY)
    first, second = factories.make_ticket(org), factories.make_ticket(org)
    assert first.assignee_id == second.assignee_id == busy.id
    with write_transaction():
        assignment.set_availability(db.session.get(Agent, idle.id), AVAILABLE)
    # idle has 0 open tickets, busy has 2: the next two go to idle.
    assert factories.make_ticket(org).assignee_id == idle.id
    assert factories.make_ticket(org).assignee_id == idle.id
    # Now 2 each: the tie goes to whoever was assigned least recently (busy).
    assert factories.make_ticket(org).assignee_id == busy.id


def test_round_robin_between_equally_loaded_agents(org):
    agents = [factories.make_agent(org, availability=AVAILABLE) for _ in range(3)]
    assignees = [factories.make_ticket(org).assignee_id for _ in range(9)]
    counts = {agent.id: assignees.count(agent.id) for agent in agents}
    assert set(counts.values()) == {3}


def test_capacity_inactive_and_level_are_respected(org):
    full = factories.make_agent(org, availability=AVAILABLE, capacity=1)
    factories.make_agent(org, availability=AVAILABLE, level=Level.N2)
    inactive = factories.make_agent(org, availability=AVAILABLE)
    with write_transaction():
        db.session.get(Agent, inactive.id).active = False
    assert factories.make_ticket(org).assignee_id == full.id
    overflow = factories.make_ticket(org)
    assert overflow.assignee_id is None and overflow.status == Status.OPEN


def test_resolved_tickets_do_not_count_as_load(org):
    agent = factories.make_agent(org, availability=AVAILABLE, capacity=1)
    first = factories.make_ticket(org)
    with write_transaction():
        db.session.get(Ticket, first.id).status = Status.RESOLVED
    assert factories.make_ticket(org).assignee_id == agent.id


def test_agents_of_other_organizations_are_never_picked(org):
    other = factories.make_org()
    factories.make_agent(other, availability=AVAILABLE)
    assert factories.make_ticket(org).assignee_id is None


def test_becoming_available_pulls_highest_priority_oldest_first_up_to_capacity(org):
    agent = factories.make_agent(org, capacity=2)
    low = factories.make_ticket(org, priority=Priority.LOW)
    old_high = factories.make_ticket(org, priority=Priority.HIGH)
    new_high = factories.make_ticket(org, priority=Priority.HIGH)
    with write_transaction():
        old = db.session.get(Ticket, old_high.id)
        old.created_at = utcnow() - timedelta(hours=1)
    with write_transaction():
        pulled = assignment.set_availability(db.session.get(Agent, agent.id), AVAILABLE)
        pulled_ids = [ticket.id for ticket in pulled]
    assert pulled_ids == [old_high.id, new_high.id]
    assert fresh(Ticket, low.id).assignee_id is None
    assert fresh(Ticket, new_high.id).status == Status.IN_PROGRESS


def test_going_away_pulls_nothing(org):
    agent = factories.make_agent(org)
    factories.make_ticket(org)
    with write_transaction():
        pulled = assignment.set_availability(db.session.get(Agent, agent.id), Availability.AWAY)
    assert pulled == []
