"""What one create may cost: the description made from messages, and the categories an
organization accumulates through the API (issue 16, findings 2 and 3)."""

import pytest

from helpdesk import tickets
from helpdesk.api.schemas import MAX_TEXT
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import Category, Message, Ticket

from .conftest import ticket_count

TELEMETRON = "/api/ext-v1/ticket/createTicket"
SUPPORTDESK = "/api/v1/tickets/api-create"


@pytest.fixture
def rendered(monkeypatch):
    """The length of each Markdown text a request renders."""
    sizes: list[int] = []
    real = tickets.render_markdown

    def counting(text: str) -> str:
        sizes.append(len(text))
        return real(text)

    monkeypatch.setattr(tickets, "render_markdown", counting)
    return sizes


def test_a_description_made_from_messages_is_bounded_like_a_given_one(api, rendered):
    given = api.post(TELEMETRON, json={
        "title": "Long", "customerEmail": "a@example.com", "description": "d" * MAX_TEXT,
    })
    assert given.status_code == 200, given.get_data(as_text=True)
    budget = max(rendered)
    rendered.clear()
    # About as much conversation as a request body holds: four messages of 60,000 characters.
    conversation = [{"role": "customer", "content": f"word{n} " * 10000} for n in range(4)]
    made = api.post(TELEMETRON, json={
        "title": "Long talk", "customerEmail": "a@example.com", "messages": conversation,
    })
    assert made.status_code == 200, made.get_data(as_text=True)
    assert max(rendered) <= budget
    db.session.rollback()
    ticket = db.session.scalar(db.select(Ticket).where(Ticket.subject == "Long talk"))
    assert len(ticket.description) <= MAX_TEXT
    assert ticket.description.startswith("**Customer:** word0 ")
    kept = db.session.scalars(db.select(Message.body).where(Message.ticket_id == ticket.id)).all()
    assert sorted(map(len, kept)) == [60000] * 4  # the conversation itself is kept whole


def _categories(org, count: int) -> None:
    with write_transaction():
        db.session.add_all(Category(org_id=org.id, name=f"Existing {n}") for n in range(count))


def test_the_api_cannot_add_categories_beyond_the_bound(api, org, customer):
    _categories(org, tickets.MAX_API_CATEGORIES)
    before = ticket_count()
    refused = api.post(SUPPORTDESK, json={
        "customerExternalId": "user_42", "subject": "x", "description": "y", "category": "Brand new",
    })
    assert refused.status_code == 400, refused.get_data(as_text=True)
    body = refused.get_json()
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert [detail["field"] for detail in body["error"]["details"]] == ["category"]
    assert ticket_count() == before
    assert db.session.scalar(
        db.select(db.func.count(Category.id)).where(Category.org_id == org.id)
    ) == tickets.MAX_API_CATEGORIES
    # An existing category is still named freely, in any case.
    kept = api.post(SUPPORTDESK, json={
        "customerExternalId": "user_42", "subject": "x", "description": "y", "category": "EXISTING 7",
    })
    assert kept.status_code == 201, kept.get_data(as_text=True)
