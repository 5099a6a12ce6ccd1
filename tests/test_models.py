"""Constraints the schema itself enforces, per organization."""

from datetime import UTC

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import Category, Customer, Priority, Tag, Ticket

from . import factories


def insert(row):
    with write_transaction():
        db.session.add(row)


@pytest.mark.parametrize(
    "make_row",
    [
        lambda org: Customer(org_id=org.id, external_id="dup"),
        lambda org: Customer(org_id=org.id, email="dup@example.com"),
        lambda org: Category(org_id=org.id, name="Billing"),
        lambda org: Tag(org_id=org.id, name="vip"),
    ],
    ids=["customer-external-id", "customer-email", "category-name", "tag-name"],
)
def test_unique_within_an_organization_only(org, make_row):
    other = factories.make_org()
    insert(make_row(org))
    insert(make_row(other))  # the same value in another organization is fine
    with pytest.raises(IntegrityError):
        insert(make_row(org))


def test_customers_without_external_id_or_email_do_not_collide(org):
    insert(Customer(org_id=org.id, email="a@example.com"))
    insert(Customer(org_id=org.id, email="b@example.com"))
    assert db.session.scalar(db.select(db.func.count(Customer.id))) == 2


def test_ticket_number_unique_per_organization(org):
    ticket = factories.make_ticket(org)
    other = factories.make_org()
    factories.make_ticket(other)  # number 1 again, in another organization
    duplicate = Ticket(
        org_id=org.id, number=ticket.number, subject="x", customer_id=ticket.customer_id
    )
    with pytest.raises(IntegrityError):
        insert(duplicate)


def test_priority_is_stored_as_rank_and_read_as_enum(org):
    ticket = factories.make_ticket(org, priority=Priority.URGENT)
    raw = db.session.execute(
        db.text("SELECT priority FROM tickets WHERE id = :id"), {"id": ticket.id}
    ).scalar()
    assert raw == 4
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).priority is Priority.URGENT


def test_times_come_back_aware_in_utc(org):
    ticket = factories.make_ticket(org)
    db.session.expire_all()
    created = db.session.get(Ticket, ticket.id).created_at
    assert created.utcoffset().total_seconds() == 0


def test_times_come_back_in_utc_whatever_the_servers_time_zone(org):
    """PostgreSQL answers in its session's time zone; pages label the times UTC."""
    ticket = factories.make_ticket(org)
    db.session.expire_all()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL TIME ZONE 'Asia/Kolkata'"))
    created = db.session.get(Ticket, ticket.id).created_at
    assert created.tzinfo is UTC
    assert created == ticket.created_at
    db.session.rollback()


def test_invalid_enum_value_is_refused(org):
    customer = factories.make_customer(org)
    with pytest.raises(Exception, match="not among the defined enum values|is not a valid"):
        insert(Ticket(org_id=org.id, number=99, subject="x", customer_id=customer.id, status="NOPE"))


def test_foreign_keys_are_enforced(org):
    with pytest.raises(IntegrityError):
        insert(Ticket(org_id=org.id, number=1, subject="x", customer_id=999999))
