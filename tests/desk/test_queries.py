"""No N+1: the number of SQL statements per page stays the same as rows grow."""

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from helpdesk import audit, tickets
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.markdown import rendered
from helpdesk.models import MessageRole

from .. import factories
from .conftest import HX


@contextmanager
def counted():
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def add_tickets(org, agents, count):
    for n in range(count):
        customer = factories.make_customer(org)
        ticket = factories.make_ticket(
            org, customer, category=f"Category {n % 4}", priority=["LOW", "HIGH", "URGENT"][n % 3]
        )
        with write_transaction():
            saved = db.session.merge(ticket)
            tickets.set_tags(saved, tickets.tags_named(saved.org_id, [f"tag{n}", "all"]), audit.SYSTEM)
            tickets.reassign(saved, db.session.merge(agents[n % len(agents)]), audit.SYSTEM)


def statements_for(client, url, headers=None) -> int:
    with counted() as statements:
        assert client.get(url, headers=headers or {}).status_code == 200
    return len(statements)


@pytest.mark.parametrize("url", ["/?queue=open", "/?queue=mine", "/?queue=open&q=Ticket&tag=all"])
@pytest.mark.parametrize("partial", [False, True])
def test_queue_page_queries_do_not_grow_with_rows(app, org, url, partial):
    agents = [factories.make_agent(org, name=f"Agent {n}") for n in range(3)]
    client = app.test_client(user=agents[0])
    headers = HX if partial else None
    add_tickets(org, agents, 3)
    few = statements_for(client, url, headers)
    add_tickets(org, agents, 12)
    many = statements_for(client, url, headers)
    assert few == many
    # begin; agent; the three counts in one statement; the page's rows; their tags; their
    # versions (for bulk actions); category and tag names, and the bulk bar's agents and
    # categories (not in a fragment); the bell's unread count with the newest live signal,
    # and its list (neither in a fragment).
    assert many <= (6 if partial else 12)


@pytest.mark.parametrize("part", [None, "thread", "timeline", "fields"])
def test_ticket_page_queries_do_not_grow_with_messages(app, org, part):
    agents = [factories.make_agent(org, name=f"Agent {n}") for n in range(4)]
    client = app.test_client(user=agents[0])
    ticket = factories.make_ticket(org, category="Billing")

    def add_messages(count):
        with write_transaction():
            saved = db.session.merge(ticket)
            for n in range(count):
                author = db.session.merge(agents[n % len(agents)])
                reply = rendered(f"Reply **{n}**")
                by = audit.Actor.of(author)
                tickets.add_message(saved, MessageRole.AGENT, reply, by, internal=n % 3 == 0)
                tickets.add_message(saved, MessageRole.CUSTOMER, rendered(f"Answer {n}"), audit.SYSTEM)

    url = f"/tickets/{ticket.reference}" + (f"/parts/{part}" if part else "")
    headers = HX if part else None
    add_messages(2)
    few = statements_for(client, url, headers)
    add_messages(20)
    many = statements_for(client, url, headers)
    assert few == many
    # begin; agent; ticket; its customer, category and tags (with the ticket on the
    # whole page, lazily in a part); thread; timeline; the bell's unread count with the
    # newest live signal, and its list.
    assert many <= (11 if part else 8)


@contextmanager
def recorded():
    """(statement, parameters) of each statement the block runs."""
    seen: list[tuple] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def plan(statement: str, parameters) -> list[str]:
    """How the database would run a statement, a line per step, favouring indexes over
    scans and sorts on PostgreSQL (it would scan a test's few rows anyway)."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        return [row[-1] for row in rows]
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql("SET LOCAL enable_sort = off")
    return [row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters)]


def sorts(steps: list[str]) -> int:
    """Sort steps: SQLite's temporary B-trees, PostgreSQL's Sort nodes."""
    return sum("TEMP B-TREE" in step or bool(re.match(r"\s*(->\s*)?Sort\s+\(", step)) for step in steps)


@pytest.mark.parametrize("queue", ["open", "unassigned", "mine"])
def test_queue_pages_read_open_tickets_in_order_from_an_index(app, org, queue):
    """A page's tickets are read in queue order from a partial index of open tickets,
    then only those 25 rows are sorted; open tickets are never sorted all together.

    The index serves only a statement whose condition visibly implies its own, which is
    why the open statuses are written into the SQL (models.OPEN_SQL) instead of bound.
    """
    agents = [factories.make_agent(org, name=f"Agent {n}") for n in range(2)]
    add_tickets(org, agents, 4)
    client = app.test_client(user=agents[0])
    with recorded() as seen:
        assert client.get(f"/?queue={queue}").status_code == 200
    (page,) = [(s, p) for s, p in seen if "ORDER BY tickets.priority DESC" in s]
    with app.app_context():
        steps = plan(*page)
    assert any("ix_tickets_open" in step for step in steps), steps
    assert sorts(steps) == 1, steps


BY_UPDATE = ("ix_tickets_open_assignee_updated", "ix_tickets_open_updated")


@pytest.mark.parametrize(
    ("url", "indexes"),
    [
        ("/?queue=open&sort=updated", ("ix_tickets_open_updated",)),
        # PostgreSQL may prefer reading all open tickets by update, filtering the assignee.
        ("/?queue=unassigned&sort=updated", BY_UPDATE),
        ("/?queue=mine&sort=updated", BY_UPDATE),
        ("/?queue=open&status=CLOSED", ("ix_tickets_status_order",)),
        ("/?queue=open&status=CLOSED&sort=updated", ("ix_tickets_status_updated",)),
    ],
)
def test_other_orders_and_a_status_read_in_order_from_an_index(app, org, url, indexes):
    """"Last updated first", and one status (Closed holds most tickets), never sort them all."""
    agents = [factories.make_agent(org, name=f"Agent {n}") for n in range(2)]
    add_tickets(org, agents, 4)
    client = app.test_client(user=agents[0])
    with recorded() as seen:
        assert client.get(url).status_code == 200
    (page,) = [(s, p) for s, p in seen if "ORDER BY tickets." in s and "LIMIT" in s and "JOIN" in s]
    with app.app_context():
        steps = plan(*page)
    assert any(index in step for step in steps for index in indexes), "\n".join(steps)
    assert sorts(steps) == 1, steps


def test_counts_read_at_most_the_cap(app, org):
    """Each of the three counts is bounded (COUNT_CAP + 1 rows), whatever the queue holds."""
    agents = [factories.make_agent(org, name=f"Agent {n}") for n in range(2)]
    client = app.test_client(user=agents[0])
    with recorded() as seen:
        assert client.get("/?queue=open").status_code == 200
    (counts,) = [s for s, _ in seen if "count(*)" in s]
    assert counts.count("LIMIT") == 3
