"""Live signals through the live_events table, the bell, and the availability toggle."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from helpdesk import audit, tickets
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.markdown import rendered
from helpdesk.models import Availability, LiveEvent, MessageRole, Notification, Status, Ticket, utcnow

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
            db.session.merge(ticket), MessageRole.CUSTOMER, rendered("Any news?"), audit.Actor(label="API")
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
    fragment = nina_client.get("/notifications/bell", headers=HX)
    assert by_id(parse(fragment.text), "bell").get("id") == "bell" and "<html" not in fragment.text
    notification = db.session.scalar(select(Notification).where(Notification.ticket_id == first.id))
    opened = nina_client.post(f"/notifications/{notification.id}/read")
    assert opened.status_code == 303 and opened.headers["Location"] == f"/tickets/{first.reference}"
    bell = by_id(parse(nina_client.get("/").text), "bell")
    assert bell.find_all(lambda n: n.has("data-unread"))[0].get("data-unread") == "1"


def unread_count(bell) -> str:
    return bell.find_all(lambda n: n.has("data-unread"))[0].get("data-unread")


def test_mark_all_read_from_the_bell_keeps_it_open_and_tells_the_page(nina_client, org):
    factories.make_ticket(org)
    factories.make_ticket(org)
    response = nina_client.post("/notifications/read", headers={**HX, "HX-Target": "bell"})
    bell = by_id(parse(response.text), "bell")
    assert unread_count(bell) == "0" and bell.has("open")
    assert "notifications-changed" in json.loads(response.headers["HX-Trigger"])
    assert not db.session.scalar(select(Notification).where(Notification.read_at.is_(None)))
    no_js = nina_client.post("/notifications/read", data={"next": "/?queue=open"})
    assert no_js.status_code == 303 and no_js.headers["Location"] == "/?queue=open"


def test_mark_all_read_from_the_list_answers_the_list(nina_client, org):
    factories.make_ticket(org, subject="Printer jam")
    response = nina_client.post("/notifications/read", headers={**HX, "HX-Target": "notification-list"})
    listing = by_id(parse(response.text), "notification-list")
    assert "All read" in listing.all_text() and "Printer jam" in listing.all_text()
    assert not listing.find_all(lambda n: "unread" in (n.get("class") or "").split())


def test_the_notifications_page_lists_every_notification_a_page_at_a_time(
    nina_client, org, available_agent
):
    other = factories.make_agent(org, name="Omar", email="omar@example.com")
    with write_transaction():
        for number in range(30):
            db.session.add(Notification(
                agent_id=available_agent.id, org_id=org.id, kind="assigned",
                text=f"Ticket number {number}", created_at=utcnow() + timedelta(seconds=number),
            ))  # fmt: skip
        db.session.add(Notification(agent_id=other.id, org_id=org.id, kind="assigned", text="Omar's own"))
    first = nina_client.get("/notifications")
    assert first.status_code == 200 and "<html" in first.text
    page = parse(first.text)
    assert len(page.find_all(lambda n: n.tag == "h1")) == 1
    listing = by_id(page, "notification-list")
    items = listing.find_all(lambda n: n.tag == "li" and "unread" in (n.get("class") or "").split())
    assert len(items) == 25
    assert "Ticket number 29" in items[0].all_text()  # newest first
    assert "Omar's own" not in first.text
    assert listing.find_all(lambda n: n.get("rel") == "next")[0].get("href") == "/notifications?page=2"
    assert "/notifications" in [a.get("href") for a in by_id(page, "bell").find_all(lambda n: n.tag == "a")]
    second = by_id(parse(nina_client.get("/notifications?page=2").text), "notification-list")
    rest = second.find_all(lambda n: n.tag == "li" and "unread" in (n.get("class") or "").split())
    assert len(rest) == 5 and "Ticket number 4" in rest[0].all_text()
    assert not second.find_all(lambda n: n.get("rel") == "next")
    fragment = nina_client.get("/notifications?page=2", headers=HX)
    assert "<html" not in fragment.text and 'id="notification-list"' in fragment.text


@pytest.mark.parametrize("page", ["0", "-1", "10001", str(2**70)])
def test_a_page_out_of_range_is_404(nina_client, page):
    assert nina_client.get(f"/notifications?page={page}").status_code == 404


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
