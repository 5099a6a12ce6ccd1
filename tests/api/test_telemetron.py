"""POST /api/ext-v1/ticket/createTicket: Telemetron's contract, field by field."""

import uuid

import pytest

from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import Category, CategorySource, Customer, Message, Priority, Ticket

from .. import factories
from .conftest import ticket_count

URL = "/api/ext-v1/ticket/createTicket"
WIFI = {
    "title": "Device not connecting to WiFi",
    "description": "Customer reports their device fails to connect after firmware update v2.3.1",
    "priority": "high",
    "customerEmail": "john.doe@example.com",
    "category": "Connectivity",
}
OVERHEATING = {
    "title": "Device overheating during charging",
    "customerEmail": "john.doe@example.com",
    "priority": "high",
    "messages": [
        {"role": "customer", "content": "My device gets very hot when I plug it in to charge."},
        {"role": "bot", "content": "I'm sorry to hear that. How long has this been happening?"},
        {"role": "customer", "content": "Started about a week ago after the latest update."},
    ],
}


def assert_error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"success", "message"}
    assert body["success"] is False
    assert isinstance(body["message"], str) and body["message"]
    return body["message"]


def created(response) -> Ticket:
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"success", "ticketId", "message"}
    assert body["success"] is True
    assert body["message"] == "Ticket created successfully"
    uuid.UUID(body["ticketId"])
    return db.session.scalar(db.select(Ticket).where(Ticket.public_id == body["ticketId"]))


def test_example_with_customer_email_creates_the_customer(api, org):
    with write_transaction():
        db.session.add(Category(org_id=org.id, name="connectivity"))
    ticket = created(api.post(URL, json=WIFI))
    assert ticket.subject == "Device not connecting to WiFi"
    assert ticket.priority == Priority.HIGH
    assert ticket.customer.email == "john.doe@example.com"
    assert (ticket.category.name, ticket.category_source) == ("connectivity", CategorySource.API)
    assert str(ticket.channel) == "API"


def test_an_existing_email_is_the_same_customer_in_any_case(api, org):
    first = created(api.post(URL, json=WIFI))
    second = created(api.post(URL, json=WIFI | {"customerEmail": "John.Doe@Example.COM"}))
    assert first.customer_id == second.customer_id
    assert db.session.scalar(db.select(db.func.count(Customer.id))) == 1


def test_unmatched_category_is_not_created(api, org):
    ticket = created(api.post(URL, json=WIFI))
    assert ticket.category is None
    assert db.session.scalar(db.select(db.func.count(Category.id))) == 0


def test_example_with_customer_id_matches_the_external_id(api, org):
    customer = factories.make_customer(org, external_id="cust_a1b2c3d4e5f6")
    ticket = created(api.post(URL, json={
        "title": "Battery draining too fast", "customerId": "cust_a1b2c3d4e5f6", "priority": "medium",
    }))  # fmt: skip
    assert ticket.customer_id == customer.id
    assert ticket.priority == Priority.MEDIUM
    assert ticket.description == ""


def test_customer_id_matches_our_public_id_first(api, org):
    customer = factories.make_customer(org)
    factories.make_customer(org, external_id=customer.public_id)  # a look-alike externalId
    ticket = created(api.post(URL, json={"title": "x", "customerId": customer.public_id}))
    assert ticket.customer_id == customer.id


def test_customer_id_wins_over_customer_email(api, org):
    customer = factories.make_customer(org, external_id="c1")
    ticket = created(api.post(URL, json={"title": "x", "customerId": "c1", "customerEmail": "new@x.org"}))
    assert ticket.customer_id == customer.id


def test_unknown_customer_id_is_404(api, org):
    other = factories.make_org()
    theirs = factories.make_customer(other, external_id="theirs")
    for customer_id in ("cust_nobody", theirs.public_id, "theirs"):
        assert_error(api.post(URL, json={"title": "x", "customerId": customer_id}), 404)
    assert ticket_count() == 0


def test_example_with_messages_stores_the_conversation_and_a_description(api, org):
    ticket = created(api.post(URL, json=OVERHEATING))
    messages = db.session.scalars(
        db.select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)
    ).all()
    assert [(str(m.role), m.body) for m in messages] == [
        (m["role"], m["content"]) for m in OVERHEATING["messages"]
    ]
    assert "My device gets very hot" in ticket.description
    assert "<strong>Customer:</strong>" in ticket.description_html


def test_description_given_with_messages_is_kept(api, org):
    ticket = created(api.post(URL, json=OVERHEATING | {"description": "As told."}))
    assert ticket.description == "As told."


def test_default_priority_is_medium(api, org):
    ticket = created(api.post(URL, json={"title": "x", "customerEmail": "a@b.org"}))
    assert ticket.priority == Priority.MEDIUM


@pytest.mark.parametrize("priority", ["low", "medium", "high", "urgent"])
def test_every_priority_maps_to_ours(api, org, priority):
    ticket = created(api.post(URL, json={"title": "x", "customerEmail": "a@b.org", "priority": priority}))
    assert ticket.priority == Priority(priority.upper())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customerEmail": "a@b.org"}, "title"),
        ({"title": None, "customerEmail": "a@b.org"}, "title"),
        ({"title": "", "customerEmail": "a@b.org"}, "title"),
        ({"title": 5, "customerEmail": "a@b.org"}, "title"),
        ({"title": "x" * 256, "customerEmail": "a@b.org"}, "title"),
        ({"title": "x"}, "customerEmail"),
        ({"title": "x", "customerEmail": None, "customerId": None}, "customerEmail"),
        ({"title": "x", "customerEmail": "not-an-email"}, "customerEmail"),
        ({"title": "x", "customerEmail": 42}, "customerEmail"),
        ({"title": "x", "customerId": 42}, "customerId"),
        ({"title": "x", "customerEmail": "a@b.org", "priority": "HIGH"}, "priority"),
        ({"title": "x", "customerEmail": "a@b.org", "priority": "critical"}, "priority"),
        ({"title": "x", "customerEmail": "a@b.org", "priority": "hіgh"}, "priority"),  # Cyrillic і
        ({"title": "x", "customerEmail": "a@b.org", "priority": 2}, "priority"),
        ({"title": "x", "customerEmail": "a@b.org", "description": 1}, "description"),
        ({"title": "x", "customerEmail": "a@b.org", "category": ["a"]}, "category"),
        ({"title": "x", "customerEmail": "a@b.org", "messages": "hi"}, "messages"),
        ({"title": "x", "customerEmail": "a@b.org", "messages": [{"role": "admin", "content": "x"}]},
         "messages.0.role"),
        ({"title": "x", "customerEmail": "a@b.org", "messages": [{"role": "bot"}]}, "messages.0.content"),
        ({"title": "x", "customerEmail": "a@b.org", "messages": [{"role": "bot", "content": 1}]},
         "messages.0.content"),
    ],
)
def test_bad_fields_are_400_with_the_field_in_the_message(api, org, body, field):
    message = assert_error(api.post(URL, json=body), 400)
    assert message.startswith(field + ":") or f"; {field}:" in message, message
    assert ticket_count() == 0


@pytest.mark.parametrize("raw", [b"", b"{", b"[1]", b"null", b"{'title': 'x'}"])
def test_invalid_json_is_400(api, org, raw):
    assert_error(api.post(URL, data=raw), 400)


@pytest.mark.parametrize("key_headers", [{}, {"x-api-key": "your_api_key_here"}])
def test_missing_or_invalid_key_is_401(client, org, key_headers):
    assert_error(client.post(URL, json=WIFI, headers=key_headers), 401)


def test_quota_reached_is_403_in_telemetrons_envelope(client, org):
    from helpdesk.models import Organization

    with write_transaction():
        db.session.get(Organization, org.id).monthly_quota = 0
    headers = {"x-api-key": factories.make_api_key(org)[1]}
    assert "quota" in assert_error(client.post(URL, json=WIFI, headers=headers), 403)


def test_body_over_the_limit_is_413(app, api, org):
    raw = b'{"title": "' + b"x" * app.config["MAX_CONTENT_LENGTH"] + b'"}'
    assert_error(api.post(URL, data=raw), 413)


def test_assignment_works_as_for_the_other_contract(api, org):
    agent = factories.make_agent(org, availability="available")
    ticket = created(api.post(URL, json=WIFI))
    assert ticket.assignee_id == agent.id
    assert str(ticket.status) == "IN_PROGRESS"
