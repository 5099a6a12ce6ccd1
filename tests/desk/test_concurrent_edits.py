"""Safe concurrent edits, assign to me, and what comes after resolving."""

import re

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import Availability, Ticket, TicketEvent

from .. import factories
from .conftest import HX, by_id, parse


def edit_form(client, ticket, field):
    form = by_id(
        parse(client.get(f"/tickets/{ticket.reference}/fields/{field}/edit", headers=HX).text),
        f"field-{field}",
    )
    return form.find_all(lambda n: n.get("name") == "seen")[0].get("value")


def events(ticket) -> int:
    return db.session.scalar(select(func.count(TicketEvent.id)).where(TicketEvent.ticket_id == ticket.id))


@pytest.fixture
def omar_client(app, org):
    return app.test_client(user=factories.make_agent(org, name="Omar"))


def test_an_edit_from_a_stale_form_is_refused_with_who_changed_it(nina_client, omar_client, org):
    ticket = factories.make_ticket(org, priority="LOW")
    nina_saw = edit_form(nina_client, ticket, "priority")
    omar_saw = edit_form(omar_client, ticket, "priority")
    assert nina_saw == omar_saw
    saved = omar_client.post(f"/tickets/{ticket.reference}/fields/priority",
                             data={"priority": "URGENT", "seen": omar_saw}, headers=HX)  # fmt: skip
    assert saved.status_code == 200
    before = events(ticket)

    stale = nina_client.post(f"/tickets/{ticket.reference}/fields/priority",
                             data={"priority": "HIGH", "seen": nina_saw}, headers=HX)  # fmt: skip
    assert stale.status_code == 409
    field = by_id(parse(stale.text), "field-priority")
    text = " ".join(re.sub(r"<[^>]+>", " ", stale.text).split())
    assert "Urgent" in text and "Omar set priority to URGENT just now" in text
    assert events(ticket) == before
    # Omar's change signals every open page: no live refresh may take the notice away.
    assert field.get("hx-trigger") is None and field.get("hx-get") is None
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).priority == "URGENT"

    # Her choice is one click away: the form it offers carries the version she now saw.
    offer = field.find_all(lambda n: n.tag == "form" and "Use HIGH instead" in n.all_text())[0]
    values = {n.get("name"): n.get("value") for n in offer.find_all(lambda n: n.tag == "input")}
    assert values["priority"] == "HIGH" and int(values["seen"]) > int(nina_saw)
    again = nina_client.post(offer.get("hx-post"), data=values, headers=HX)
    assert again.status_code == 200
    assert by_id(parse(again.text), "field-priority").get("hx-trigger")  # live again
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).priority == "HIGH"


def test_a_change_to_another_field_meanwhile_does_not_block_the_edit(nina_client, omar_client, org):
    ticket = factories.make_ticket(org, priority="LOW")
    seen = edit_form(nina_client, ticket, "priority")
    omar_client.post(f"/tickets/{ticket.reference}/fields/status", data={"status": "WAITING"}, headers=HX)
    saved = nina_client.post(f"/tickets/{ticket.reference}/fields/priority",
                             data={"priority": "HIGH", "seen": seen}, headers=HX)  # fmt: skip
    assert saved.status_code == 200


@pytest.mark.parametrize("seen", ["abc", "-1", "1.5", "9" * 40])
def test_a_version_that_is_no_number_is_a_422_naming_it(nina_client, org, seen):
    ticket = factories.make_ticket(org, priority="LOW")
    response = nina_client.post(f"/tickets/{ticket.reference}/fields/priority",
                                data={"priority": "HIGH", "seen": seen}, headers=HX)  # fmt: skip
    assert response.status_code == 422 and "version" in response.text
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).priority == "LOW"


def test_assign_to_me(app, org):
    factories.make_agent(org, name="Nina", availability=Availability.AVAILABLE)
    sam = factories.make_agent(org, name="Sam")
    ticket = factories.make_ticket(org)
    client = app.test_client(user=sam)
    page = parse(client.get(f"/tickets/{ticket.reference}").text)
    button = page.find_all(lambda n: n.get("data-shortcut") == "assign-me")
    assert len(button) == 1
    form = by_id(page, "field-assignee").find_all(lambda n: n.tag == "form")[0]
    values = {n.get("name"): n.get("value") for n in form.find_all(lambda n: n.tag == "input")}
    response = client.post(form.get("hx-post"), data=values, headers=HX)
    assert response.status_code == 200 and "Sam" in response.text
    assert 'data-shortcut="assign-me"' not in response.text  # it is theirs now
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).assignee_id == sam.id


def test_resolving_offers_the_next_ticket_in_the_queue(nina_client, org, available_agent):
    current = factories.make_ticket(org, subject="Current", priority="HIGH")
    factories.make_ticket(org, subject="Later low", priority="LOW")
    urgent = factories.make_ticket(org, subject="Next urgent", priority="URGENT")
    response = nina_client.post(
        f"/tickets/{current.reference}/fields/status", data={"status": "RESOLVED"}, headers=HX
    )
    next_link = by_id(parse(response.text), "field-status").find_all(
        lambda n: n.get("data-shortcut") == "next"
    )
    assert next_link[0].get("href") == f"/tickets/{urgent.reference}"
    for ticket in (urgent,):
        nina_client.post(
            f"/tickets/{ticket.reference}/fields/status", data={"status": "RESOLVED"}, headers=HX
        )


def test_edit_controls_are_named_for_what_they_edit(nina_client, org):
    ticket = factories.make_ticket(org, priority="HIGH")
    page = nina_client.get(f"/tickets/{ticket.reference}").text
    names = [
        " ".join(re.sub(r"<[^>]+>", " ", link).split())
        for link in re.findall(r'<a class="value".*?</a>', page, re.S)
    ]
    assert any(name.startswith("Edit priority: High") for name in names), names
    assert any(name.startswith("Edit status: In Progress") for name in names), names
    assert len(parse(page).find_all(lambda n: n.tag == "h1")) == 1
