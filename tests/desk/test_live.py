"""Live signals through the live_events table, the bell, and the availability toggle."""

import json

import pytest
from sqlalchemy import func, select

from helpdesk import audit, tickets
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import Availability, LiveEvent, MessageRole, Notification, Status, Ticket

from .. import factories
from .conftest import HX, by_id, parse


def newest_signal() -> int:
    return db.session.scalar(select(func.max(LiveEvent.id))) or 0


def poll(client, after: int):
    return client.get(f"/events/?after={after}", headers=HX)


def test_nothing_new_is_204(nina_client, org):
    factories.make_ticket(org)
    response = poll(nina_client, newest_signal())
    assert response.status_code == 204 and not response.data


@pytest.mark.parametrize("after", ["-5", "abc", "1.5", "\u00b2", str(2**63), "9" * 40])
def test_a_cursor_that_is_no_signal_id_is_a_422_naming_it(nina_client, after):
    response = nina_client.get(f"/events/?after={after}")
    assert response.status_code == 422
    assert "after" in response.text


def test_assignment_tells_the_assignee_and_refreshes_queues(app, nina_client, org, available_agent):
    omar = factories.make_agent(org, name="Omar")
    cursor = newest_signal()
    ticket = factories.make_ticket(org)
    response = poll(nina_client, cursor)
    assert response.status_code == 200
    events = json.loads(response.headers["HX-Trigger"])
    assert {"queue-changed", "notifications-changed", f"ticket-changed-{ticket.id}"} <= set(events)
    # The answer moves the page's cursor forward, so the next poll is quiet.
    live = by_id(parse(response.text), "live")
    assert live.get("hx-get") == f"/events/?after={newest_signal()}"
    assert poll(nina_client, newest_signal()).status_code == 204
    # Omar's pages refresh their queues but his bell stays quiet.
    omar_events = json.loads(poll(app.test_client(user=omar), cursor).headers["HX-Trigger"])
    assert "queue-changed" in omar_events and "notifications-changed" not in omar_events


def test_signals_stay_in_their_organization(app, org, other_org):
    stranger = factories.make_agent(other_org)
    cursor = newest_signal()
    factories.make_ticket(org)
    assert poll(app.test_client(user=stranger), cursor).status_code == 204


def test_a_customer_reply_rings_the_assignees_bell(nina_client, org, available_agent):
    ticket = factories.make_ticket(org)
    cursor = newest_signal()
    with write_transaction():
        tickets.add_message(
            db.session.merge(ticket), MessageRole.CUSTOMER, "Any news?", audit.Actor(label="API")
        )
    events = json.loads(poll(nina_client, cursor).headers["HX-Trigger"])
    assert "notifications-changed" in events and f"ticket-changed-{ticket.id}" in events


def test_the_page_starts_listening_after_the_newest_signal(nina_client, org):
    factories.make_ticket(org)
    live = by_id(parse(nina_client.get("/").text), "live")
    assert live.get("hx-get") == f"/events/?after={newest_signal()}"
    assert live.get("hx-trigger") == "every 1s"


def test_bell_counts_unread_and_lists_latest(nina_client, org):
    first = factories.make_ticket(org, subject="First")
    factories.make_ticket(org, subject="Second")
    bell = by_id(parse(nina_client.get("/").text), "bell")
    count = bell.find_all(lambda n: n.has("data-unread"))[0]
    assert count.get("data-unread") == "2"
    assert "Second" in bell.all_text() and "First" in bell.all_text()
    assert "notifications-changed from:body" in bell.get("hx-trigger")
    fragment = nina_client.get("/notifications", headers=HX)
    assert by_id(parse(fragment.text), "bell").get("id") == "bell" and "<html" not in fragment.text
    page = nina_client.get("/notifications")
    assert "<html" in page.text and page.text.count('id="bell"') == 1
    notification = db.session.scalar(select(Notification).where(Notification.ticket_id == first.id))
    opened = nina_client.post(f"/notifications/{notification.id}/read")
    assert opened.status_code == 303 and opened.headers["Location"] == f"/tickets/{first.reference}"
    bell = by_id(parse(nina_client.get("/").text), "bell")
    assert bell.find_all(lambda n: n.has("data-unread"))[0].get("data-unread") == "1"


def test_mark_all_read(nina_client, org):
    factories.make_ticket(org)
    factories.make_ticket(org)
    response = nina_client.post("/notifications/read", headers=HX)
    bell = by_id(parse(response.text), "bell")
    assert bell.find_all(lambda n: n.has("data-unread"))[0].get("data-unread") == "0"
    assert not db.session.scalar(select(Notification).where(Notification.read_at.is_(None)))
    no_js = nina_client.post("/notifications/read", data={"next": "/?queue=open"})
    assert no_js.status_code == 303 and no_js.headers["Location"] == "/?queue=open"


def test_becoming_available_pulls_unassigned_tickets(app, org):
    sam = factories.make_agent(org, name="Sam")
    waiting = factories.make_ticket(org, priority="URGENT")
    client = app.test_client(user=sam)
    response = client.post("/availability", data={"availability": "available"}, headers=HX)
    assert response.status_code == 200
    form = by_id(parse(response.text), "availability")
    buttons = form.find_all(lambda n: n.tag == "button")
    pressed = [b.get("value") for b in buttons if b.get("aria-pressed") == "true"]
    assert pressed == ["available"]
    assert "queue-changed" in json.loads(response.headers["HX-Trigger"])
    db.session.expire_all()
    pulled = db.session.get(Ticket, waiting.id)
    assert pulled.assignee.name == "Sam" and pulled.status == Status.IN_PROGRESS
    away = client.post("/availability", data={"availability": "away"})
    assert away.status_code == 303
    db.session.expire_all()
    assert db.session.get(type(sam), sam.id).availability == Availability.AWAY


def test_unknown_availability_is_a_422(nina_client):
    response = nina_client.post("/availability", data={"availability": "asleep"}, headers=HX)
    assert response.status_code == 422 and "availability" in response.text
