"""Test data made through the real services; each call commits."""

import itertools

from helpdesk import accounts, audit
from helpdesk.customers import CustomerRef, upsert_customer
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import Availability, Level, Role
from helpdesk.tickets import NewTicket, create_ticket

_counter = itertools.count(1)
PASSWORD = "correct horse battery"


def make_org(**kw):
    n = next(_counter)
    kw.setdefault("name", f"Org {n}")
    kw.setdefault("slug", f"org-{n}")
    kw.setdefault("prefix", "T" if n == 1 else f"T{n}")
    with write_transaction():
        org = accounts.create_org(kw.pop("name"), kw.pop("slug"), kw.pop("prefix"), **kw)
    return org


def make_agent(org, **kw):
    n = next(_counter)
    kw.setdefault("email", f"agent{n}@example.com")
    kw.setdefault("name", f"Agent {n}")
    kw.setdefault("password", PASSWORD)
    kw.setdefault("role", Role.AGENT)
    kw.setdefault("level", Level.N1)
    kw.setdefault("availability", Availability.OFFLINE)
    with write_transaction():
        agent = accounts.create_agent(db.session.merge(org), **kw)
    return agent


def make_customer(org, **kw):
    n = next(_counter)
    kw.setdefault("external_id", f"cust_{n}")
    kw.setdefault("email", f"customer{n}@example.org")
    with write_transaction():
        customer, _ = upsert_customer(db.session.merge(org), **kw)
    return customer


def make_api_key(org, name="test key", scope="tickets"):
    with write_transaction():
        key, secret = accounts.issue_api_key(db.session.merge(org), name, scope)
    return key, secret


def make_ticket(org, customer=None, **kw):
    if customer is None:
        customer = make_customer(org)
    kw.setdefault("subject", f"Ticket {next(_counter)}")
    kw.setdefault("description", "Something *broke*.")
    with write_transaction():
        ticket = create_ticket(
            db.session.merge(org),
            NewTicket(customer=CustomerRef(public_id=customer.public_id), **kw),
            audit.Actor(label="test"),
        )
    return ticket
