"""Mail fixtures (tests/ingest/mail/*.eml, in the shapes real clients send) and an
organization with a customer's ticket for them to answer."""

from pathlib import Path

import pytest

from helpdesk import ingest
from helpdesk.extensions import db
from helpdesk.models import IngestFailure, Message, Ticket, TicketEvent

from .. import factories

# The admin pages' fixtures, for /admin/mail.
from ..admin.conftest import admin, admin_client, forget_user_between_requests  # noqa: F401

MAIL = Path(__file__).parent / "mail"


def eml(name: str, **placeholders: str) -> bytes:
    """A fixture's bytes with its TICKET_ID, TICKET_REF, MESSAGE_ID and CUSTOMER_EMAIL
    placeholders (all in headers) filled in."""
    raw = (MAIL / name).read_bytes()
    for key, value in placeholders.items():
        raw = raw.replace(key.upper().encode(), value.encode())
    return raw


@pytest.fixture
def customer(org):
    return factories.make_customer(org, email="carla@example.org", name="Carla Customer")


@pytest.fixture
def ticket(org, customer):
    return factories.make_ticket(org, customer, subject="Printer jams on every page")


@pytest.fixture
def answer(ticket, customer):
    """A fixture filled in to answer `ticket` from its customer."""

    def fill(name: str, **more: str) -> bytes:
        return eml(
            name, ticket_id=ticket.public_id, ticket_ref=ticket.reference,
            customer_email=customer.email, **more,
        )

    return fill


@pytest.fixture
def take_in(app, org):
    """Ingest bytes for `org` as the service does; returns the Outcome."""

    def run(raw: bytes):
        db.session.rollback()
        outcome = ingest.ingest(db.session.merge(org), raw)
        db.session.rollback()
        return outcome

    return run


def counts() -> dict:
    """How many rows ingestion can write there are, by table."""
    db.session.rollback()
    tables = {"tickets": Ticket, "messages": Message, "events": TicketEvent, "failures": IngestFailure}
    count = db.select(db.func.count())
    return {name: db.session.scalar(count.select_from(model)) for name, model in tables.items()}
