"""Ticket numbers: unique, consecutive and never reused, under concurrent creation."""

import threading

from helpdesk.extensions import db
from helpdesk.models import Customer, Organization, Ticket

from . import factories

THREADS = 8
PER_THREAD = 25  # 200 numbers in all


def test_eight_threads_allocate_200_unique_consecutive_numbers(app, org):
    # Plain values cross threads; ORM objects stay with the session that loaded them.
    org_id, customer_id = org.id, factories.make_customer(org).id
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def create_many():
        with app.app_context():
            try:
                own_org = db.session.get(Organization, org_id)
                customer = db.session.get(Customer, customer_id)
                start.wait()
                for _ in range(PER_THREAD):
                    factories.make_ticket(own_org, customer=customer)
            except BaseException as error:  # surfaced below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=create_many) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    db.session.rollback()  # end this thread's read snapshot (SQLite WAL keeps it)
    numbers = db.session.scalars(db.select(Ticket.number).where(Ticket.org_id == org_id)).all()
    assert sorted(numbers) == list(range(1, THREADS * PER_THREAD + 1))


def test_numbers_are_not_reused_after_a_ticket_is_deleted(org):
    first = factories.make_ticket(org)
    second = factories.make_ticket(org)
    from helpdesk.db import write_transaction

    with write_transaction():
        db.session.delete(db.session.get(Ticket, second.id))
    third = factories.make_ticket(org)
    assert (first.number, third.number) == (1, 3)


def test_each_organization_counts_from_one(org):
    other = factories.make_org()
    assert factories.make_ticket(org).number == 1
    assert factories.make_ticket(other).number == 1
    assert factories.make_ticket(org).number == 2
