"""`/tickets/new`: an agent opens a ticket through the one creation service (channel WEB)."""

import pytest
from sqlalchemy import func, select

from helpdesk.db import write_transaction
from helpdesk.enums import Channel, Status
from helpdesk.extensions import db
from helpdesk.models import Customer, Message, OutboxMessage, RoutingRule, Ticket, TicketEvent

from .. import factories
from .conftest import by_id, parse


def form(**fields) -> dict:
    values = {
        "subject": "Phone: the router blinks red", "description": "Called at 9:10, **urgent**.",
        "customer_email": "Walk.In@Example.org", "customer_name": "Walter In", "priority": "HIGH",
        "category": "", "once": "form-token-1",
    }  # fmt: skip
    return values | fields


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_form_offers_priorities_categories_and_a_fresh_token(nina_client, org):
    factories.make_ticket(org, category="Billing")
    page = parse(nina_client.get("/tickets/new").text)
    new = by_id(page, "new-ticket-form")
    names = {node.get("name") for node in new.find_all(lambda n: n.tag in ("input", "select", "textarea"))}
    assert {
        "subject",
        "description",
        "customer_email",
        "customer_name",
        "priority",
        "category",
        "once",
    } <= names
    options = [node.all_text() for node in new.find_all(lambda n: n.tag == "option")]
    assert options[:4] == ["Low", "Medium", "High", "Urgent"] and "Billing" in options
    tokens = {
        by_id(parse(nina_client.get("/tickets/new").text), "new-ticket-form")
        .find_all(lambda n: n.get("name") == "once")[0]
        .get("value")
        for _ in range(2)
    }
    assert len(tokens) == 2


def test_an_agent_opens_a_ticket_routed_and_assigned_like_any_other(nina_client, org, available_agent):
    with write_transaction():
        db.session.add(RoutingRule(
            org_id=org.id, name="Routers", position=0,
            conditions=[{"field": "subject", "op": "contains", "value": "router"}],
            actions={"set_category": "Network", "add_tags": ["hardware"]},
        ))  # fmt: skip
    response = nina_client.post("/tickets/new", data=form())
    assert response.status_code == 303
    ticket = db.session.scalars(select(Ticket)).one()
    assert response.headers["Location"].endswith(f"/tickets/{ticket.reference}")
    assert (ticket.channel, ticket.status, ticket.priority) == (Channel.WEB, Status.IN_PROGRESS, "HIGH")
    assert ticket.subject == "Phone: the router blinks red"
    assert ticket.description == "Called at 9:10, **urgent**."
    assert (ticket.category.name, [tag.name for tag in ticket.tags]) == ("Network", ["hardware"])
    assert ticket.assignee_id == available_agent.id  # auto-assigned
    assert (ticket.customer.email, ticket.customer.name) == ("walk.in@example.org", "Walter In")
    actors = db.session.scalars(
        select(TicketEvent.actor_label).where(TicketEvent.ticket_id == ticket.id)
    ).all()
    assert "Nina" in actors
    assert count(OutboxMessage) >= 1  # the assignee is emailed, as for the API
    page = nina_client.get(response.headers["Location"])
    assert "Phone: the router blinks red" in page.text


def test_an_existing_customer_by_email_or_from_their_page(nina_client, org):
    ada = factories.make_customer(org, email="ada@example.org", name="Ada")
    nina_client.post("/tickets/new", data=form(customer_email="ADA@example.org", once="a"))
    page = parse(nina_client.get(f"/tickets/new?customer={ada.public_id}").text)
    assert "Ada" in by_id(page, "new-ticket-customer").all_text()
    nina_client.post("/tickets/new", data=form(customer=ada.public_id, customer_email="", once="b"))
    assert count(Customer) == 1
    assert set(db.session.scalars(select(Ticket.customer_id))) == {ada.id}
    assert f"/tickets/new?customer={ada.public_id}" in nina_client.get(f"/customers/{ada.public_id}").text


def test_a_double_click_opens_one_ticket(nina_client, org):
    first = nina_client.post("/tickets/new", data=form())
    again = nina_client.post("/tickets/new", data=form())
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert count(Ticket) == 1
    # The same token with other content: refused with a new token, nothing opened.
    other = nina_client.post("/tickets/new", data=form(subject="Something else"))
    assert other.status_code == 422 and count(Ticket) == 1


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"subject": "   "}, "subject"),
        ({"subject": "x" * 256}, "subject"),
        ({"customer_email": ""}, "customer_email"),
        ({"customer_email": "not-an-address"}, "customer_email"),
        ({"priority": "SOON"}, "priority"),
        ({"category": "No such category"}, "category"),
        ({"customer": "00000000-0000-0000-0000-000000000000"}, "customer"),
        ({"description": "x" * (64 * 1024 + 1)}, "description"),
    ],
)
def test_bad_input_names_the_field_keeps_the_form_and_writes_nothing(nina_client, org, fields, field):
    response = nina_client.post("/tickets/new", data=form(**fields))
    assert response.status_code == 422
    page = parse(response.text)
    assert by_id(page, "form-error").get("data-field") == field
    assert 'value="Walter In"' in response.text or "customer" in fields  # what was typed stays
    assert (count(Ticket), count(Message), count(OutboxMessage)) == (0, 0, 0)
    assert count(Customer) == 0


def test_a_full_quota_is_a_clear_422(nina_client, org):
    with write_transaction():
        db.session.merge(org).monthly_quota = 0
    response = nina_client.post("/tickets/new", data=form())
    assert response.status_code == 422 and "quota" in response.text
    assert count(Ticket) == 0


def test_a_customer_of_another_organization_is_not_found(nina_client, other_org):
    stranger = factories.make_customer(other_org, email="them@example.org")
    response = nina_client.post("/tickets/new", data=form(customer=stranger.public_id))
    assert response.status_code == 422 and count(Ticket) == 0
    assert "them@example.org" not in nina_client.get(f"/tickets/new?customer={stranger.public_id}").text
